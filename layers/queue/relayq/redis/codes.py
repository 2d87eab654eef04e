"""What the lease scripts (``finish``, ``retry``, ``defer``) answer. ``lua/includes/codes.lua``
gives the Lua side the same names for the same numbers (a test keeps the two equal)."""

from __future__ import annotations

from enum import IntEnum


class ScriptCode(IntEnum):
    OK = 1
    # The job is not in Redis: finished, cancelled, dropped on its last lease, or never enqueued.
    NO_SUCH_JOB = 0
    # The job is in Redis but not leased: its lease ran out and it waits again, or it was deferred.
    NOT_LEASED = -1
    # The job is leased to a newer attempt than the caller's.
    STALE_ATTEMPT = -2
