"""What the HTTP functions (the API, the cron trigger, the authorizer) share at their edge: input
validation into the contract's errors and the request log line."""
