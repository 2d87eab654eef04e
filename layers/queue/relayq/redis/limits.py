"""What one request to Redis may carry. ElastiCache Serverless refuses a request of more than
3,999 arguments (a script call counts EVALSHA, the SHA, the key count, its keys and its args), so a
call whose size grows with its input is cut into requests of at most this many."""

from __future__ import annotations

MAX_ARGUMENTS = 3999

# EVALSHA, the SHA and the number of keys: what every script call carries besides keys and args.
SCRIPT_CALL_ARGUMENTS = 3


def per_script_call(fixed: int, each: int) -> int:
    """How many items of ``each`` arguments fit in one script call beside ``fixed`` keys and args."""
    return (MAX_ARGUMENTS - SCRIPT_CALL_ARGUMENTS - fixed) // each
