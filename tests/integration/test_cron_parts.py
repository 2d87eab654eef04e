"""The cron trigger's parts without Lambda: the fan-out against local sites, the lock/cooldown/
queued-mark scripts on a real redis-server, cron URLs and the batch-size check."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from pydantic import ValidationError

from devstack.sites import SiteFarm, down_site
from relayq.domain.cron import CronTarget, Site
from relayq.domain.errors import CronRateLimited, CronRunInProgress
from relayq.redis.cron_guard import CronGuard
from relayq.services.cron.fanout import FanOutOptions, fan_out
from relayq.services.cron.targets import cron_url, doing_wp_cron
from relayq.services.outbound import OutboundGuard
from relayq.settings import Settings
from tests.support.outbound import allowed

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


@pytest.fixture
def farm() -> Iterator[SiteFarm]:
    server = SiteFarm(slow_seconds=0.1, hang_seconds=1.0).start()
    yield server
    server.stop()


def target(url: str) -> CronTarget:
    return CronTarget(site=url, url=f"{url}/wp-cron.php?doing_wp_cron={doing_wp_cron()}")


def only(*urls: str) -> OutboundGuard:
    """A guard that lets the fan-out call exactly these local servers."""
    return OutboundGuard(allow=allowed(*urls).split(","))


def test_fan_out_records_status_duration_and_errors_per_site(farm: SiteFarm) -> None:
    down = down_site()
    names = ["ok", "slow-1", "fail-1", "hang-1"]
    options = FanOutOptions(
        concurrency=3, timeout=0.5, connect_retries=2, retry_pause=0.01, guard=only(farm.url(""), down)
    )

    results = fan_out([target(farm.url(n)) for n in names] + [target(down)], options)

    assert [r.site for r in results] == [farm.url(n) for n in names] + [down]
    ok, slow, fail, hang, refused = results
    assert (ok.status, ok.ok, ok.attempts) == (200, True, 1)
    assert slow.ok and slow.duration_ms >= 100
    assert (fail.status, fail.ok, fail.error) == (500, False, "HTTP 500")
    assert (hang.status, hang.error, hang.attempts) == (None, "timed out", 1)  # a timeout is not retried
    assert refused.attempts == 3 and refused.error is not None and "Connection" in refused.error
    assert [r.status_key for r in results] == ["200", "200", "500", "error", "error"]
    assert sum(c.site == "hang-1" for c in farm.calls) == 1


def test_fan_out_posts_with_the_plugins_user_agent(farm: SiteFarm) -> None:
    fan_out([target(farm.url("a"))], FanOutOptions(guard=only(farm.url(""))))
    fan_out([target(farm.url("b"))], FanOutOptions(home_url="https://network.example/", guard=only(farm.url(""))))
    agents = {c.site: c.user_agent for c in farm.calls}
    assert agents == {"a": f"All Sites Cron; {farm.url('a')}/", "b": "All Sites Cron; https://network.example/"}
    assert {c.method for c in farm.calls} == {"POST"}


def test_a_site_at_an_internal_address_is_a_failed_site_and_is_not_called(farm: SiteFarm) -> None:
    options = FanOutOptions(connect_retries=2, retry_pause=0.01)  # the default guard: public addresses only
    allowed_one = SiteFarm().start()
    try:
        results = fan_out(
            [target(farm.url("a")), target(f"http://2130706433:{farm.port}/b"), target(allowed_one.url("c"))],
            FanOutOptions(connect_retries=2, retry_pause=0.01, guard=only(allowed_one.url(""))),
        )
        default = fan_out([target(farm.url("d"))], options)
    finally:
        allowed_one.stop()
    refused_a, refused_b, called = results
    for refused in (refused_a, refused_b, *default):
        assert (refused.ok, refused.status, refused.attempts, refused.status_key) == (False, None, 1, "error")
        assert refused.error is not None and "loopback address" in refused.error
    assert f"2130706433:{farm.port}" in (refused_b.error or "")
    assert called.ok and allowed_one.called() == {"c"}
    assert farm.calls == []


def test_cron_url_defaults_to_wp_cron_with_a_22_decimal_stamp() -> None:
    stamp = doing_wp_cron(1700000000.5)
    assert stamp == "1700000000.5000000000000000000000"
    assert re.match(r"^\d+\.\d{22}$", doing_wp_cron())
    assert cron_url(Site(url="https://a.example/"), stamp) == f"https://a.example/wp-cron.php?doing_wp_cron={stamp}"
    custom = Site(url="https://b.example", cron_url="https://b.example/cron?key=1")
    assert cron_url(custom, stamp) == "https://b.example/cron?key=1"
    with pytest.raises(ValidationError):
        Site(url="file:///etc/passwd")


@pytest.fixture
def guard(layer_conn: redis.Redis) -> CronGuard:
    return CronGuard(layer_conn, "rq", lock_seconds=300, cooldown_seconds=60)


def test_lock_cooldown_and_coalescing(guard: CronGuard, redis_conn: redis.Redis) -> None:
    assert guard.admit("defer", "run_a").outcome == "admitted"
    joined = guard.admit("defer", "run_b")
    assert (joined.outcome, joined.run_id) == ("coalesced", "run_a")
    with pytest.raises(CronRunInProgress):  # a sync run does not overtake the queued one
        guard.admit("sync", "run_c")

    assert guard.hold("run_a") == 0  # the queued run starts: lock taken, mark gone
    assert redis_conn.get(guard.queued) is None and redis_conn.get(guard.lock) == "run_a"
    assert guard.hold("run_x") > 0  # another run must wait
    with pytest.raises(CronRunInProgress):
        guard.admit("defer", "run_d")

    guard.release("run_a", cooldown=True)
    with pytest.raises(CronRateLimited) as limited:
        guard.admit("sync", "run_e")
    assert 59 <= limited.value.retry_after <= 60
    redis_conn.delete(guard.cooldown)
    assert guard.admit("sync", "run_e").outcome == "admitted"
    guard.release("run_zzz", cooldown=False)  # not the holder: the lock stays
    assert redis_conn.get(guard.lock) == "run_e"
    assert 0 < redis_conn.pttl(guard.lock) <= 300_000


def test_a_batch_that_cannot_fit_its_job_timeout_is_refused() -> None:
    with pytest.raises(ValidationError, match="QUEUE_CRON_BATCH_SIZE"):
        Settings(cron_batch_size=5000, cron_concurrency=10, cron_request_timeout=30)
