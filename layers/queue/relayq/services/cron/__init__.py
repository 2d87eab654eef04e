"""All-sites cron: trigger wp-cron on every site of a network, now or in the background.

``service`` admits a run (through ``relayq.redis.cron_guard``: lock, cooldown, coalescing) and
answers in the plugin's shape; ``runner`` plans it into batches and runs them through ``fanout``
over the URLs ``targets`` lists. The run and its batches are job types of the core queue
(``relayq.job_types.cron``); the sites and runs tables are ``relayq.dynamodb.sites`` / ``runs``.
"""
