"""A global lock in Redis: ``SET NX PX`` with an owner token, released only by its owner.

The expiry frees the lock of a worker that died while holding it; the token makes sure a holder
whose lock already expired (and was taken by another) cannot delete the new owner's lock.
"""

from __future__ import annotations

import secrets

from relayq.redis.broker import RedisBroker


class Lock:
    def __init__(self, broker: RedisBroker, name: str, ttl_ms: int) -> None:
        self.broker = broker
        self.key = broker.keys.named("lock", name)
        self.ttl_ms = ttl_ms
        self.token = secrets.token_hex(16)

    def acquire(self) -> bool:
        return bool(self.broker.conn.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def release(self) -> bool:
        """False when the lock was no longer ours (it expired)."""
        return bool(self.broker.scripts.run("release_lock", [self.key], [self.token]))
