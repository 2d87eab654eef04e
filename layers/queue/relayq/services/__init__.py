"""The services that compose the Redis and DynamoDB sides: the job service, the processor, the
worker, the idle-queue kick, reconciliation, metrics and the all-sites cron."""
