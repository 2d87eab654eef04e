"""API tokens: random secrets stored only as SHA-256 hashes in DynamoDB, with scope and rate limit.

``python -m tools.tokens create|list|revoke|rotate`` manages them (the plugin's settings page).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from contextlib import suppress
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from relayq.domain.clock import from_text, to_text
from relayq.domain.errors import StoreUnavailable, TokenNotFound, TransitionRefused
from relayq.dynamodb.codec import Item, ModelCodec, attributes, expression_values, plain
from relayq.dynamodb.table import TableStore

Scope = Literal["worker", "full"]
SCOPES: tuple[Scope, ...] = ("worker", "full")
TOKEN_PREFIX = "rq_"  # noqa: S105 (a prefix, not a secret)
# The last-used time is written at most this often per token: one write per call would cost more
# than the call itself and gains nothing an operator needs.
TOUCH_INTERVAL_MS = 60_000


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe, with a prefix that secret scanners can recognise."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class TokenInfo(BaseModel):
    """A token as operators see it: never the secret, never its hash."""

    id: str
    name: str
    scope: Scope
    rate_limit: int | None = Field(default=None, ge=1, description="Calls per minute; none: the deployment default.")
    created_at: str
    last_used_at: str | None = None
    revoked: bool = False
    revoked_at: str | None = None


class NewToken(BaseModel):
    """A freshly made token: the only time the secret is shown."""

    token: str
    info: TokenInfo


TOKEN_ITEM = ModelCodec(TokenInfo)


def _key(token_hash: str) -> Item:
    return attributes({"token_hash": token_hash})


def _item(token_hash: str, info: TokenInfo) -> Item:
    """A token's item, keyed by the hash of its secret."""
    return TOKEN_ITEM.to_item(info, token_hash=token_hash)


class TokenStore(TableStore):
    def create(
        self, name: str, scope: Scope, rate_limit: int | None = None, *, token_id: str | None = None
    ) -> NewToken:
        token = new_token()
        info = TokenInfo(
            id=token_id or "tok_" + secrets.token_hex(6),
            name=name,
            scope=scope,
            rate_limit=rate_limit,
            created_at=to_text(self.clock()),
        )
        self._call(
            "put_item", Item=_item(hash_token(token), info), ConditionExpression="attribute_not_exists(token_hash)"
        )
        return NewToken(token=token, info=info)

    def authenticate(self, token: str) -> TokenInfo | None:
        """The live (not revoked) token with this secret, or None."""
        if not token:
            return None
        token_hash = hash_token(token)
        item = self._call("get_item", Key=_key(token_hash), ConsistentRead=True).get("Item")
        # The key lookup already matched; the constant-time compare keeps any later change of the
        # lookup (a prefix index, a cache) from turning into a timing oracle on the hash.
        if item is None or not hmac.compare_digest(plain(item)["token_hash"], token_hash):
            return None
        info = TOKEN_ITEM.from_item(item)
        if info.revoked:
            return None
        self._touch(token_hash, info)
        return info

    def _touch(self, token_hash: str, info: TokenInfo) -> None:
        now = self.clock()
        if info.last_used_at and now - from_text(info.last_used_at) < TOUCH_INTERVAL_MS:
            return
        with suppress(ClientError):  # a missed last-used time never blocks a call
            self.client.update_item(
                TableName=self.table,
                Key=_key(token_hash),
                UpdateExpression="SET last_used_at = :now",
                ConditionExpression="attribute_exists(token_hash)",
                ExpressionAttributeValues=expression_values(now=to_text(now)),
            )

    def _items(self) -> list[Item]:
        items: list[Item] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = self._call("scan", **kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list(self, *, include_revoked: bool = True) -> list[TokenInfo]:
        """Every token, oldest first (the table holds a handful of tokens: a scan is the right tool)."""
        tokens = sorted((TOKEN_ITEM.from_item(item) for item in self._items()), key=lambda t: (t.created_at, t.id))
        return [t for t in tokens if include_revoked or not t.revoked]

    def _live_hash(self, token_id: str) -> tuple[str, TokenInfo]:
        for item in self._items():
            info = TOKEN_ITEM.from_item(item)
            if info.id == token_id and not info.revoked:
                return plain(item)["token_hash"], info
        raise TokenNotFound()

    def _revoke_update(self, token_hash: str) -> dict[str, Any]:
        return {
            "Key": _key(token_hash),
            "UpdateExpression": "SET revoked = :yes, revoked_at = :now",
            "ConditionExpression": "revoked = :no",
            "ExpressionAttributeValues": expression_values(yes=True, no=False, now=to_text(self.clock())),
        }

    def revoke(self, token_id: str) -> TokenInfo:
        token_hash, _ = self._live_hash(token_id)
        try:
            # The stored record, as `list` shows it afterwards (the revocation time included).
            updated = self._call("update_item", **self._revoke_update(token_hash), ReturnValues="ALL_NEW")
        except TransitionRefused:
            raise TokenNotFound() from None  # revoked meanwhile
        return TOKEN_ITEM.from_item(updated["Attributes"])

    def rotate(self, token_id: str) -> NewToken:
        """A new secret for the same token id, name, scope and limit; the old secret stops working
        in the same transaction, so there is never a moment with both or neither."""
        old_hash, info = self._live_hash(token_id)
        token = new_token()
        fresh = info.model_copy(update={"created_at": to_text(self.clock()), "last_used_at": None})
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _item(hash_token(token), fresh),
                            "ConditionExpression": "attribute_not_exists(token_hash)",
                        }
                    },
                    {"Update": {"TableName": self.table, **self._revoke_update(old_hash)}},
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise TokenNotFound() from None
            raise StoreUnavailable() from error
        return NewToken(token=token, info=fresh)
