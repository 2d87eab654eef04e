"""A run from plan to totals: list the sites, cut them into batches, call each batch's sites, add
its results to the run, and close the run (lock off, cooldown on) when the last batch reported."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from redis.exceptions import RedisError

from relayq.domain.cron import BatchSpec, Run
from relayq.dynamodb.runs import RunStore
from relayq.dynamodb.sites import SiteStore
from relayq.redis.cron_guard import CronGuard
from relayq.services.cron.fanout import FanOutOptions, fan_out
from relayq.services.cron.targets import configured_sites, cron_targets, doing_wp_cron
from relayq.services.outbound import OutboundGuard
from relayq.settings import Settings

logger = logging.getLogger(__name__)

# Sends the batches of a run somewhere they will run: the cron queue, or async self-invocations.
Dispatch = Callable[[Sequence[BatchSpec]], None]


class CronRunner:
    def __init__(self, settings: Settings, sites: SiteStore, runs: RunStore, guard: CronGuard) -> None:
        self.settings = settings
        self.sites = sites
        self.runs = runs
        self.guard = guard
        self.options = FanOutOptions(
            concurrency=settings.cron_concurrency,
            timeout=settings.cron_request_timeout,
            connect_retries=settings.cron_connect_retries,
            home_url=settings.cron_home_url,
            guard=OutboundGuard.from_settings(settings),
        )

    def plan(self, run_id: str) -> list[BatchSpec]:
        """Start the run with its list of batches; [] when it had already started (or has no site,
        in which case it is closed at once)."""
        targets = cron_targets(self.settings, configured_sites(self.settings, self.sites), doing_wp_cron())
        size = self.settings.cron_batch_size
        batches = [
            BatchSpec(run_id=run_id, index=i, targets=targets[start : start + size])
            for i, start in enumerate(range(0, len(targets), size))
        ]
        if not self.runs.start(run_id, len(targets), len(batches)):
            logger.warning("cron run %s had already started; its batches are not sent again", run_id)
            return []
        if not batches:
            self._close(self.runs.get(run_id, with_results=False))
        return batches

    def run_batch(self, spec: BatchSpec) -> Run | None:
        """Call the batch's sites and report; the run's lock is extended while batches go on."""
        self._quietly(lambda: self.guard.hold(spec.run_id))
        results = fan_out(spec.targets, self.options)
        run = self.runs.record_batch(spec.run_id, spec.index, results)
        if run is not None and run.batches_done >= run.batches_total:
            return self._close(run)
        return run

    def run_now(self, run_id: str, dispatch: Dispatch | None = None) -> Run:
        """Plan the run; one batch (or no ``dispatch``): run it here, else send the batches on."""
        batches = self.plan(run_id)
        if dispatch is not None and len(batches) > 1:
            dispatch(batches)
        else:
            for spec in batches:
                self.run_batch(spec)
        return self.runs.get(run_id, with_results=False)

    def abandon(self, run_id: str) -> None:
        """A run that failed before it finished: free the lock without a cooldown."""
        self._quietly(lambda: self.guard.release(run_id, cooldown=False))

    def _close(self, run: Run) -> Run:
        done = self.runs.finish(run)
        if done is None:  # another batch closed it
            return self.runs.get(run.run_id, with_results=False)
        # No site called, nothing to spare: sites added next can be cron'd at once (the plugin
        # starts its cooldown after every run).
        self._quietly(lambda: self.guard.release(run.run_id, cooldown=done.sites_total > 0))
        return done

    @staticmethod
    def _quietly(step: Callable[[], object]) -> None:
        """Lock steps are best effort once a run is under way: Redis down must not stop it."""
        try:
            step()
        except RedisError as error:
            logger.warning("cron lock step skipped, Redis unavailable: %s", type(error).__name__)
