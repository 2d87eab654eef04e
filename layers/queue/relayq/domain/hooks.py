"""Points where other code can watch or change what the processor does, like the plugin's actions
(``before_job``, ``after_job``, ``job_failed``) and its scope/retry filters."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Hook = Callable[..., Any]


class Hooks:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Hook]] = defaultdict(list)

    def on(self, event: str, hook: Hook) -> Hook:
        self._subscribers[event].append(hook)
        return hook

    def off(self, event: str, hook: Hook) -> None:
        if hook in self._subscribers[event]:
            self._subscribers[event].remove(hook)

    def emit(self, event: str, **data: Any) -> None:
        """Tell every subscriber; a failing subscriber is logged and never breaks the job."""
        for hook in list(self._subscribers[event]):
            try:
                hook(**data)
            except Exception:
                logger.exception("hook %s failed", event)

    def filter(self, event: str, value: Any, **data: Any) -> Any:
        """Pass ``value`` through every subscriber in turn (a subscriber returns the new value)."""
        for hook in list(self._subscribers[event]):
            try:
                value = hook(value, **data)
            except Exception:
                logger.exception("filter %s failed", event)
        return value
