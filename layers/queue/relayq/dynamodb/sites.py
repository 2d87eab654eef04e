"""The network's sites recorded in the sites table (managed through /sites), keyed by the site URL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relayq.domain.clock import to_text
from relayq.domain.cron import Site
from relayq.domain.errors import SiteNotFound, TransitionRefused
from relayq.dynamodb.table import TableStore, batch_write


class SiteStore(TableStore):
    """Site records in one DynamoDB table (``SitesTable``), keyed by the site URL."""

    def put(self, sites: Iterable[Site]) -> list[Site]:
        """Add or replace sites (one BatchWriteItem per 25)."""
        stored = list({site.url: site for site in sites}.values())
        now = to_text(self.clock())
        requests = []
        for site in stored:
            item: dict[str, Any] = {"url": {"S": site.url}, "enabled": {"BOOL": site.enabled}, "updated_at": {"S": now}}
            if site.cron_url:
                item["cron_url"] = {"S": site.cron_url}
            requests.append({"PutRequest": {"Item": item}})
        batch_write(self.client, self.table, requests)
        return stored

    def delete(self, url: str) -> None:
        try:
            self._call(
                "delete_item",
                Key={"url": {"S": url}},
                ConditionExpression="attribute_exists(#u)",
                ExpressionAttributeNames={"#u": "url"},
            )
        except TransitionRefused:
            raise SiteNotFound(f"No site with URL {url}.") from None

    def all(self) -> list[Site]:
        sites = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = self._call("scan", **kwargs)
            for item in page["Items"]:
                sites.append(
                    Site(
                        url=item["url"]["S"],
                        cron_url=item["cron_url"]["S"] if "cron_url" in item else None,
                        enabled=item.get("enabled", {}).get("BOOL", True),
                    )
                )
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(sites, key=lambda s: s.url)
