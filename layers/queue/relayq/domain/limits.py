"""Limits the settings and the job model share, in a module of their own: the settings (which
every function reads, the authorizer too) then need not build the job models."""

from __future__ import annotations

# A job must finish inside one worker invocation (Lambda stops at 900 s) with time to record it.
MAX_JOB_TIMEOUT = 880
