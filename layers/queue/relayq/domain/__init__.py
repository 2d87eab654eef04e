"""The domain: what a job is (models, statuses, ids), its errors, job types and their registry,
hooks, backoff, outcomes, the cron's records and the clock. No I/O: nothing here talks to Redis,
DynamoDB or AWS."""
