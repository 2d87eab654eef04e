"""All-sites cron: trigger wp-cron on every site of a network, now or in the background.

``trigger`` admits a run (lock, cooldown, coalescing), ``runner`` plans it into batches and runs
them through ``fanout``; ``jobs`` makes the run and its batches job types of the core queue;
``sites`` and ``runs`` are the DynamoDB tables behind /sites and /runs.
"""
