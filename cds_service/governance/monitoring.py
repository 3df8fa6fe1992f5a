"""Firing-rate monitoring: per rule, site and mode, cards per 100 evaluations by day, the last
window against its baseline (drift beyond a factor either way), and feedback per rule."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from cds_service.feedback.tables import feedback_items
from cds_service.governance.tables import evaluation_rules, evaluations


@dataclass(frozen=True)
class RuleRate:
    """One rule at one site in one mode over the monitored period."""

    rule_id: str
    site: str
    mode: str  # active or silent
    window_fired: int
    window_evaluations: int
    baseline_fired: int
    baseline_evaluations: int
    drift: bool
    series: tuple[tuple[date, float | None], ...]  # per day: rate per 100 (None: no calls)
    accepted: int = 0  # feedback on this rule (every site) during the whole period
    overridden: int = 0

    @property
    def window_rate(self) -> float | None:
        return _per_100(self.window_fired, self.window_evaluations)

    @property
    def baseline_rate(self) -> float | None:
        return _per_100(self.baseline_fired, self.baseline_evaluations)

    def as_json(self) -> dict[str, Any]:
        total = self.accepted + self.overridden
        return {
            "rule": self.rule_id, "site": self.site, "mode": self.mode,
            "window": {"fired": self.window_fired, "evaluations": self.window_evaluations,
                       "per_100": _round(self.window_rate)},
            "baseline": {"fired": self.baseline_fired, "evaluations": self.baseline_evaluations,
                         "per_100": _round(self.baseline_rate)},
            "drift": self.drift,
            "feedback": {"accepted": self.accepted, "overridden": self.overridden,
                         "acceptance_rate": _round(self.accepted / total if total else None)},
            "daily_per_100": [[d.isoformat(), _round(r)] for d, r in self.series],
        }


@dataclass(frozen=True)
class FiringReport:
    start: datetime  # baseline start
    window_start: datetime
    until: datetime
    drift_factor: float
    evaluations: Mapping[str, int]  # per site, whole period
    rates: tuple[RuleRate, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "baseline_from": self.start.isoformat(), "window_from": self.window_start.isoformat(),
            "until": self.until.isoformat(), "drift_factor": self.drift_factor,
            "evaluations": dict(self.evaluations), "rules": [r.as_json() for r in self.rates],
        }


def _per_100(fired: int, total: int) -> float | None:
    return 100.0 * fired / total if total else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def drifted(window: float | None, baseline: float | None, factor: float) -> bool:
    """True when the window's rate is ``factor`` times the baseline's or more, or 1/factor or
    less (a rule that stops firing is as suspect as one that fires too often)."""
    if window is None or baseline is None:
        return False
    if baseline == 0:
        return window > 0
    ratio = window / baseline
    return ratio >= factor or ratio <= 1 / factor


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _sum(by_day: Mapping[date, int], days: list[date]) -> int:
    return sum(by_day.get(d, 0) for d in days)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def firing_report(
    engine: Engine, until: datetime | None = None, *, window_days: float = 7,
    baseline_days: float = 28, drift_factor: float = 2.0,
) -> FiringReport:
    """Rates over [until - window - baseline, until); the window is the last ``window_days``."""
    until = (until or datetime.now(UTC)).astimezone(UTC)
    window_start = until - timedelta(days=window_days)
    start = window_start - timedelta(days=baseline_days)
    ev, er, fb = evaluations.c, evaluation_rules.c, feedback_items.c
    span = [_naive(start), _naive(until)]
    with engine.connect() as conn:
        totals = conn.execute(
            select(ev.site, func.date(ev.at), func.count())
            .where(ev.at >= span[0], ev.at < span[1]).group_by(ev.site, func.date(ev.at))
        ).all()
        fired = conn.execute(
            select(er.rule_id, er.site, er.mode, func.date(er.at), func.count())
            .where(er.at >= span[0], er.at < span[1])
            .group_by(er.rule_id, er.site, er.mode, func.date(er.at))
        ).all()
        feedback = conn.execute(
            select(fb.rule_id, fb.outcome, func.count())
            .where(fb.outcome_timestamp >= span[0], fb.outcome_timestamp < span[1])
            .group_by(fb.rule_id, fb.outcome)
        ).all()
    per_day: dict[str, dict[date, int]] = defaultdict(dict)
    for site, day, n in totals:
        per_day[site][_day(day)] = n
    counts: dict[tuple[str, str, str], dict[date, int]] = defaultdict(dict)
    for rule, site, mode, day, n in fired:
        counts[(rule, site, mode)][_day(day)] = n
    outcomes: dict[tuple[str, str], int] = {(r, o): n for r, o, n in feedback}
    days = [start.date() + timedelta(days=i) for i in range((until.date() - start.date()).days + 1)]
    split = window_start.date()
    rates = []
    for (rule, site, mode), by_day in sorted(counts.items()):
        site_days = per_day[site]
        window = [d for d in days if d >= split]
        base = [d for d in days if d < split]
        w_fired, w_total = _sum(by_day, window), _sum(site_days, window)
        b_fired, b_total = _sum(by_day, base), _sum(site_days, base)
        rates.append(RuleRate(
            rule, site, mode, w_fired, w_total, b_fired, b_total,
            drifted(_per_100(w_fired, w_total), _per_100(b_fired, b_total), drift_factor),
            tuple((d, _per_100(by_day.get(d, 0), site_days.get(d, 0))) for d in days),
            outcomes.get((rule, "accepted"), 0), outcomes.get((rule, "overridden"), 0),
        ))
    site_totals = {site: sum(by_day.values()) for site, by_day in sorted(per_day.items())}
    return FiringReport(start, window_start, until, drift_factor, site_totals, tuple(rates))
