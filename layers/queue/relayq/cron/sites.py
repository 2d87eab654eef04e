"""The network's sites: a list in the settings plus records in the sites table (managed through
/sites). Multisite network discovery is not built in: WordPress exposes no public list of a
network's sites, so feed ``wp site list`` into ``POST /sites`` (see the README)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..clock import now_ms, to_text
from ..dynamo import batch_write, call_table
from ..errors import SiteNotFound, TransitionRefused
from ..settings import Settings
from .models import CronTarget, Site


def doing_wp_cron(now_s: float | None = None) -> str:
    """WordPress's cron key: ``sprintf('%.22F', microtime(true))``, the same 22 decimals."""
    return f"{time.time() if now_s is None else now_s:.22f}"


def cron_url(site: Site, stamp: str) -> str:
    if site.cron_url:
        return site.cron_url
    return f"{site.url.rstrip('/')}/wp-cron.php?doing_wp_cron={stamp}"


class SiteStore:
    """Site records in one DynamoDB table (``SitesTable``), keyed by the site URL."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def put(self, sites: Iterable[Site]) -> list[Site]:
        """Add or replace sites (one BatchWriteItem per 25)."""
        stored = list({site.url: site for site in sites}.values())
        now = to_text(now_ms())
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
            call_table(
                self.client,
                self.table,
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
            page = call_table(self.client, self.table, "scan", **kwargs)
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


def configured_sites(settings: Settings, store: SiteStore) -> list[Site]:
    """Every known site: the settings' list, then the table's records (a record wins)."""
    merged = {url: Site(url=url) for url in settings.cron_sites}
    merged.update({site.url: site for site in store.all()})
    return list(merged.values())


def cron_targets(settings: Settings, sites: Iterable[Site], stamp: str) -> list[CronTarget]:
    """The enabled sites as URLs to call, at most ``cron_max_sites`` (the plugin's limit)."""
    enabled = [site for site in sites if site.enabled][: settings.cron_max_sites]
    return [CronTarget(site=site.url, url=cron_url(site, stamp)) for site in enabled]
