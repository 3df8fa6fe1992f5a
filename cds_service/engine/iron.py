"""Iron status: pick the current ferritin and TSAT, and decide whether iron is indicated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from fractions import Fraction

from cds_service.engine.facts import LabFact, PatientRecord, UnusableLab
from cds_service.engine.format import NAMES, number
from cds_service.knowledge import PlausibleRange


class Decision(Enum):
    QUALIFIES = "qualifies"
    NOT_QUALIFIES = "not-qualifies"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IronStatus:
    """The fresh values the decision used, and what was stale or unusable."""

    ferritin: LabFact | None
    tsat: LabFact | None
    hemoglobin: LabFact | None
    stale: tuple[LabFact, ...]
    unusable: tuple[UnusableLab, ...]

    def missing(self) -> tuple[str, ...]:
        """Human words for what is missing, e.g. ('no fresh ferritin',)."""
        out = []
        for analyte, fact in (("ferritin", self.ferritin), ("tsat", self.tsat)):
            if fact is None:
                name = NAMES[analyte]
                old = [s for s in self.stale if s.analyte == analyte]
                out.append(
                    f"{name} last on {old[0].effective.date()}" if old else f"no fresh {name}"
                )
        return tuple(out)


def is_fresh(fact: LabFact, now: datetime, window_days: float) -> bool:
    """Fresh when drawn within ``window_days`` calendar days; the boundary day counts as fresh."""
    days = (now.date() - fact.effective.date()).days
    return -1 <= days <= window_days


def _latest(labs: list[LabFact]) -> LabFact | None:
    return max(labs, key=lambda f: f.effective) if labs else None


def computed_tsat(
    labs: tuple[LabFact, ...], plausible: PlausibleRange | None = None
) -> LabFact | UnusableLab | None:
    """TSAT from serum iron and TIBC (or iron + UIBC) drawn on the same day; latest day first.

    Exact: iron / TIBC x 100 on the exact values, so 60 / 300 gives 20, never 19.999999999999996.
    A result outside ``plausible`` (iron above TIBC gives more than 100 %) is set aside.
    """
    by_day: dict[tuple[object, str], LabFact] = {}
    for fact in sorted(labs, key=lambda f: f.effective):
        if fact.analyte in ("iron", "tibc", "uibc") and not fact.comparator:
            by_day[(fact.effective.date(), fact.analyte)] = fact  # latest of the day wins
    days = sorted({day for day, analyte in by_day if analyte == "iron"}, reverse=True)
    for day in days:
        iron = by_day[(day, "iron")]
        tibc = by_day.get((day, "tibc"))
        uibc = by_day.get((day, "uibc"))
        capacity = tibc.value if tibc else (iron.value + uibc.value if uibc else None)
        if not capacity:
            continue
        partner = tibc or uibc
        assert partner is not None
        ref = f"{iron.ref} + {partner.ref}"
        value = iron.value / capacity * 100
        when = max(iron.effective, partner.effective)
        problem = plausible.problem(value) if plausible else None
        if problem:
            shown = f"computed TSAT {number(value)}%"
            return UnusableLab(ref, "tsat", f"{shown} set aside: {problem}", when)
        return LabFact(
            ref=ref,
            analyte="tsat",
            value=value,
            unit="%",
            comparator="",
            effective=when,
            status=iron.status,
            as_sent=f"computed from iron {iron.as_sent} and "
            f"{'TIBC' if tibc else 'UIBC'} {partner.as_sent}",
        )
    return None


def iron_status(
    record: PatientRecord,
    now: datetime,
    window_days: float,
    plausible: Mapping[str, PlausibleRange] | None = None,
) -> IronStatus:
    """The most recent usable ferritin, TSAT (reported or computed) and hemoglobin, if fresh."""
    by_analyte: dict[str, list[LabFact]] = {}
    for fact in record.labs:
        if fact.effective <= now + timedelta(days=1):
            by_analyte.setdefault(fact.analyte, []).append(fact)
    reported = _latest(by_analyte.get("tsat", []))
    computed = computed_tsat(record.labs, (plausible or {}).get("tsat"))
    set_aside = (computed,) if isinstance(computed, UnusableLab) else ()
    computed = None if isinstance(computed, UnusableLab) else computed
    candidates = [f for f in (reported, computed) if f is not None]
    tsat = (
        max(candidates, key=lambda f: (f.effective.date(), f is reported)) if candidates else None
    )
    chosen = {
        "ferritin": _latest(by_analyte.get("ferritin", [])),
        "tsat": tsat,
        "hemoglobin": _latest(by_analyte.get("hemoglobin", [])),
    }
    fresh = {k: v for k, v in chosen.items() if v is not None and is_fresh(v, now, window_days)}
    stale = tuple(v for k, v in chosen.items() if v is not None and k not in fresh)
    newest_used = {k: v.effective for k, v in fresh.items()}
    unusable = tuple(
        u
        for u in record.unusable_labs + set_aside
        if u.analyte in ("ferritin", "tsat")
        and (u.analyte not in newest_used or (u.effective and u.effective > newest_used[u.analyte]))
    )
    return IronStatus(
        fresh.get("ferritin"), fresh.get("tsat"), fresh.get("hemoglobin"), stale, unusable
    )


def below(fact: LabFact | None, threshold: Fraction, inclusive: bool) -> bool | None:
    """Is the true value below (or at, when inclusive) ``threshold``? None when unknowable.

    A comparator makes the value a bound: '<10' is surely at most 75, '<100' may or may not be.
    Both sides are exact (Fractions), so 75 ng/mL computed from 168.525 pmol/L is at most 75.
    """
    if fact is None:
        return None
    comparator = fact.comparator
    # One exact comparison (Fractions compare in pure Python): -1 below, 0 equal, 1 above.
    order = (fact.value > threshold) - (fact.value < threshold)
    surely_below = order < 0 or (inclusive and order == 0)
    surely_above = not surely_below
    if comparator == "":
        return surely_below
    if comparator in ("<", "<="):
        if comparator == "<" and order <= 0:
            return True
        return True if surely_below else None
    # '>' or '>=': the true value is at least ``value``.
    if comparator == ">" and order >= 0:
        return False
    return False if surely_above else None


def combine_any(*answers: bool | None) -> Decision:
    """Qualifies when any answer is yes; not when all are no; else unknown."""
    if any(a is True for a in answers):
        return Decision.QUALIFIES
    if all(a is False for a in answers):
        return Decision.NOT_QUALIFIES
    return Decision.UNKNOWN


def combine_all(*answers: bool | None) -> Decision:
    """Qualifies when every answer is yes; not when any is no; else unknown."""
    if any(a is False for a in answers):
        return Decision.NOT_QUALIFIES
    if all(a is True for a in answers):
        return Decision.QUALIFIES
    return Decision.UNKNOWN
