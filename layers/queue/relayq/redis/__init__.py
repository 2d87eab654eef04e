"""The Redis side: where jobs wait (pending and delayed sets), leases, locks, rate limits, the
cron guard and worker status, over keys that share one hash tag. Every multi-key change is one Lua
script in ``lua/``, built and run by ``scripts`` (shared Lua pieces in ``lua/includes/``)."""
