"""The network's sites recorded in the sites table (managed through /sites), keyed by the site URL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relayq.domain.clock import to_text
from relayq.domain.cron import Site
from relayq.domain.errors import SiteNotFound, TransitionRefused
from relayq.dynamodb.codec import Item, ModelCodec, attributes, expression_values
from relayq.dynamodb.table import TableStore, batch_write

# Each item also holds ``updated_at``, the time it was last put.
SITE_ITEM = ModelCodec(Site)


class SiteStore(TableStore):
    """Site records in one DynamoDB table (``SitesTable``), keyed by the site URL."""

    def put(self, sites: Iterable[Site]) -> list[Site]:
        """Add or replace sites (one BatchWriteItem per 25)."""
        stored = list({site.url: site for site in sites}.values())
        now = to_text(self.clock())
        requests = [{"PutRequest": {"Item": SITE_ITEM.to_item(site, updated_at=now)}} for site in stored]
        batch_write(self.client, self.table, requests)
        return stored

    def set_enabled(self, url: str, enabled: bool, *, known: bool = False) -> Site:
        """Switch a recorded site on or off; a ``known`` site (the settings' list) gets its record
        here, any other unrecorded URL is ``SiteNotFound``."""
        condition: dict[str, Any] = {}
        if not known:
            condition = {"ConditionExpression": "attribute_exists(#u)", "ExpressionAttributeNames": {"#u": "url"}}
        try:
            answer = self._call(
                "update_item",
                Key=attributes({"url": url}),
                UpdateExpression="SET enabled = :on, updated_at = :now",
                ExpressionAttributeValues=expression_values(on=enabled, now=to_text(self.clock())),
                ReturnValues="ALL_NEW",
                **condition,
            )
        except TransitionRefused:
            raise SiteNotFound(f"No site with URL {url}.") from None
        return SITE_ITEM.from_item(answer["Attributes"])

    def delete(self, url: str) -> None:
        try:
            self._call(
                "delete_item",
                Key=attributes({"url": url}),
                ConditionExpression="attribute_exists(#u)",
                ExpressionAttributeNames={"#u": "url"},
            )
        except TransitionRefused:
            raise SiteNotFound(f"No site with URL {url}.") from None

    def all(self) -> list[Site]:
        sites: list[Site] = []
        start: Item | None = None
        while True:
            kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = self._call("scan", **kwargs)
            sites += [SITE_ITEM.from_item(item) for item in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(sites, key=lambda s: s.url)
