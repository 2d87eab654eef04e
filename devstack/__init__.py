"""The whole system on one machine (`make run`): redis-server, moto's server, the functions of
template.yaml in Lambda-like containers, a local API Gateway, the Lambda Invoke API and the
schedules. Everything is read from template.yaml, so the local stack never drifts from it."""
