"""The schedules of template.yaml (``Schedule`` / ``ScheduleV2`` events: ``rate(...)`` and
``cron(...)`` expressions, their ``Input``), fired as EventBridge fires them: an asynchronous
invocation with the Input, or with the Scheduled Event when there is none."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack.apigw import ACCOUNT_ID, REGION
from devstack.functions import STACK_NAME, Resolver
from devstack.template import resources

RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\((.+)\)$")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}  # noqa: SIM905
WEEKDAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split(), 1)}  # noqa: SIM905


@dataclass(frozen=True)
class Schedule:
    function: str
    name: str
    expression: str
    input: Any

    def event(self, now: dt.datetime) -> Any:
        if self.input is not None:
            return self.input
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{STACK_NAME}-{self.name}"],
            "detail": {},
        }

    def next_after(self, now: dt.datetime, scale: float = 1.0) -> dt.datetime:
        """The next fire time after ``now``. ``scale`` > 1 makes rate schedules that many times
        faster (tests); cron schedules keep the wall clock."""
        rate = RATE.match(self.expression)
        if rate:
            seconds = int(rate.group(1)) * UNIT_SECONDS[rate.group(2).rstrip("s")]
            return now + dt.timedelta(seconds=seconds / scale)
        cron = CRON.match(self.expression)
        if cron:
            return _next_cron(cron.group(1), now)
        raise ValueError(f"unsupported schedule expression {self.expression!r}")


def schedules(resolver: Resolver) -> list[Schedule]:
    """Every enabled schedule of every function in template.yaml (``function``: its name)."""
    found = []
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        function = resolver.resolve({"Ref": logical_id})
        for name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] not in ("Schedule", "ScheduleV2"):
                continue
            props = event["Properties"]
            if resolver.resolve(props.get("Enabled", True)) == "false" or props.get("State") == "DISABLED":
                continue
            expression = resolver.resolve(props.get("Schedule") or props["ScheduleExpression"])
            text = resolver.resolve(props["Input"]) if "Input" in props else None
            found.append(Schedule(function, name, expression, json.loads(text) if text else None))
    return found


def _field(spec: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    values: set[int] = set()
    for raw in spec.upper().split(","):
        part = raw
        for name, number in names.items():
            part = part.replace(name, str(number))
        if not re.fullmatch(r"[\d*?/-]+", part):  # L, W and # are not supported locally
            raise ValueError(f"unsupported cron field {spec!r}")
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            start, end = (int(x) for x in base.split("-"))
        else:
            start = int(base)
            end = high if step else start
        values.update(range(start, end + 1, int(step or 1)))
    return values


def _next_cron(expression: str, now: dt.datetime) -> dt.datetime:
    """EventBridge's six-field cron (minutes hours day-of-month month day-of-week year), in UTC.
    L, W and # are not supported locally."""
    fields = expression.split()
    if len(fields) != 6:
        raise ValueError(f"unsupported cron expression cron({expression})")
    minutes, hours, days, months, weekdays, years = fields
    allowed_minutes = _field(minutes, 0, 59, {})
    allowed_hours = _field(hours, 0, 23, {})
    allowed_days = _field(days, 1, 31, {})
    allowed_months = _field(months, 1, 12, MONTHS)
    allowed_weekdays = _field(weekdays, 1, 7, WEEKDAYS)
    allowed_years = _field(years, 1970, 2199, {})
    moment = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    for _ in range(60 * 24 * 366 * 2):
        weekday = moment.isoweekday() % 7 + 1  # SUN=1 ... SAT=7
        day_ok = (days == "?" or moment.day in allowed_days) and (weekdays == "?" or weekday in allowed_weekdays)
        if (
            moment.year in allowed_years
            and moment.month in allowed_months
            and day_ok
            and moment.hour in allowed_hours
            and moment.minute in allowed_minutes
        ):
            return moment
        moment += dt.timedelta(minutes=1)
    raise ValueError(f"cron({expression}) never fires in the next two years")


class Scheduler:
    """Fires each schedule on time through ``fire(function, event)`` until stopped; a rate
    schedule first fires one period after the start, as a new EventBridge rule does."""

    def __init__(self, entries: list[Schedule], fire: Callable[[str, Any], None], scale: float = 1.0) -> None:
        self.entries = entries
        self.fire = fire
        self.scale = scale
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        now = _utcnow()
        due = [s.next_after(now, self.scale) for s in self.entries]
        while due and not self._stop.is_set():
            index = min(range(len(due)), key=due.__getitem__)
            schedule, when = self.entries[index], due[index]
            if self._stop.wait(max(0.0, (when - _utcnow()).total_seconds())):
                return
            self.fire(schedule.function, schedule.event(when))
            due[index] = schedule.next_after(max(when, _utcnow() - dt.timedelta(seconds=1)), self.scale)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
