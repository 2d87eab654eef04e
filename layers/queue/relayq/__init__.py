"""relayq: the shared layer of the serverless Redis job queue.

The package reads like the state machine of a job: settings, models, the Redis queue and its Lua
scripts, the DynamoDB job store, the processor and the job-type registry. Nothing here imports
Lambda-only code, so every piece runs and is tested without Lambda.
"""

__version__ = "0.1.0"
