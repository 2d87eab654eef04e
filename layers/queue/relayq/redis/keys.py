"""Names of the Redis keys of one deployment. All share the ``{prefix}`` hash tag (one slot)."""

from __future__ import annotations

from dataclasses import dataclass

from relayq.domain.models import check_queue_name


@dataclass(frozen=True)
class Keys:
    prefix: str

    @property
    def tag(self) -> str:
        """The common start of every key; Lua scripts build per-queue keys from it."""
        return "{" + self.prefix + "}:"

    def _key(self, name: str) -> str:
        return self.tag + name

    @property
    def meta(self) -> str:
        return self._key("meta")

    @property
    def queues(self) -> str:
        return self._key("queues")

    @property
    def seq(self) -> str:
        return self._key("seq")

    @property
    def delayed(self) -> str:
        return self._key("delayed")

    @property
    def processing(self) -> str:
        return self._key("processing")

    @property
    def inflight(self) -> str:
        return self._key("inflight")

    def pending(self, queue: str) -> str:
        return self._key("pending:" + check_queue_name(queue))

    def named(self, kind: str, name: str) -> str:
        """A key for other concerns (locks, rate limits, worker status) inside the same tag."""
        return self._key(f"{kind}:{name}")
