"""What a run calls: the network's sites (the settings' list plus the sites table) as the exact
cron URLs to POST. Multisite network discovery is not built in: WordPress exposes no public list
of a network's sites, so feed ``wp site list`` into ``POST /sites`` (see the docs)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from relayq.domain.cron import CronTarget, Site
from relayq.dynamodb.sites import SiteStore
from relayq.settings import Settings


def doing_wp_cron(now_s: float | None = None) -> str:
    """WordPress's cron key: ``sprintf('%.22F', microtime(true))``, the same 22 decimals."""
    return f"{time.time() if now_s is None else now_s:.22f}"


def cron_url(site: Site, stamp: str) -> str:
    if site.cron_url:
        return site.cron_url
    return f"{site.url.rstrip('/')}/wp-cron.php?doing_wp_cron={stamp}"


def configured_sites(settings: Settings, store: SiteStore) -> list[Site]:
    """Every known site: the settings' list, then the table's records (a record wins)."""
    merged = {url: Site(url=url) for url in settings.cron_sites}
    merged.update({site.url: site for site in store.all()})
    return list(merged.values())


def cron_targets(settings: Settings, sites: Iterable[Site], stamp: str) -> list[CronTarget]:
    """The enabled sites as URLs to call, at most ``cron_max_sites`` (the plugin's limit)."""
    enabled = [site for site in sites if site.enabled][: settings.cron_max_sites]
    return [CronTarget(site=site.url, url=cron_url(site, stamp)) for site in enabled]
