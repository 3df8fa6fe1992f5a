"""Iron status: pick the current ferritin and TSAT, and decide whether iron is indicated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from fractions import Fraction
from operator import attrgetter

from cds_service.engine.facts import LabFact, PatientRecord, UnusableLab
from cds_service.engine.format import NAMES, lab_phrase, number
from cds_service.knowledge import PlausibleRange

NAMES_LONG = {"tsat": "Transferrin saturation", "ferritin": "Ferritin"}  # as lab_fact names them


class Decision(Enum):
    QUALIFIES = "qualifies"
    NOT_QUALIFIES = "not-qualifies"
    UNKNOWN = "unknown"


# Read once: on Python 3.11 every ``Decision.X`` goes through a Python-level descriptor.
QUALIFIES, NOT_QUALIFIES, UNKNOWN = Decision.QUALIFIES, Decision.NOT_QUALIFIES, Decision.UNKNOWN


@dataclass
class IronStatus:
    """The fresh values the decision used, and what was stale or unusable.

    Built once per evaluation and only read; not frozen, as frozen fields cost ~1.3 K
    instructions each to set.
    """

    ferritin: LabFact | None
    tsat: LabFact | None
    hemoglobin: LabFact | None
    stale: tuple[LabFact, ...]
    unusable: tuple[UnusableLab, ...]

    why: tuple[tuple[str, str], ...] = ()  # per missing analyte: (summary phrase, sentence)

    def missing(self) -> str:
        """Why ferritin or TSAT is missing, short, for a summary: 'ferritin 200 days old'."""
        return "; ".join([short for short, _ in self.why])

    def explained(self) -> str:
        """The same in full sentences, for the first line of a card's detail."""
        return " ".join([long[0].upper() + long[1:] + "." for _, long in self.why])


def is_fresh(fact: LabFact, now: datetime, window_days: float) -> bool:
    """Fresh when drawn within ``window_days`` calendar days; the boundary day counts as fresh."""
    days = (now.date() - fact.effective.date()).days
    return -1 <= days <= window_days


_EFFECTIVE = attrgetter("effective")  # a C key function: no Python call per lab


def _latest(labs: list[LabFact]) -> LabFact | None:
    return max(labs, key=_EFFECTIVE) if labs else None


_PANEL = frozenset({"iron", "tibc", "uibc"})


def computed_tsat(
    labs: tuple[LabFact, ...], plausible: PlausibleRange | None = None
) -> LabFact | UnusableLab | None:
    """TSAT from serum iron and TIBC (or iron + UIBC) drawn on the same day; latest day first.

    Exact: iron / TIBC x 100 on the exact values, so 60 / 300 gives 20, never 19.999999999999996.
    A result outside ``plausible`` (iron above TIBC gives more than 100 %) is set aside.
    """
    by_day: dict[tuple[object, str], LabFact] = {}
    # Filtered before the (stable) sort: the same order as sorting every lab, on fewer labs.
    panel = [f for f in labs if f.analyte in _PANEL and not f.comparator]
    if not panel:
        return None
    for fact in sorted(panel, key=_EFFECTIVE):
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


def _why_missing(
    analyte: str,
    record: PatientRecord,
    stale: LabFact | None,
    unusable: tuple[UnusableLab, ...],
    now: datetime,
    window_days: float,
    texts: Mapping[str, str],
) -> tuple[str, str]:
    """Why ``analyte`` has no fresh usable value: (summary phrase, full sentence).

    Every reason that applies is said, newest first: a newer result set aside, the latest result
    too old, results whose status does not count (named, never cited), serum iron and TIBC on
    different days; else there is none on record.
    """
    name = NAMES[analyte]
    found: list[tuple[str, str]] = []
    for u in sorted(unusable, key=lambda u: u.effective or now, reverse=True):
        if u.analyte == analyte:
            what, _, why = u.reason.partition(" set aside: ")
            what, why = (what, why) if why else (name, u.reason)
            if what.startswith(NAMES_LONG.get(analyte, "\0")):
                what = name + what[len(NAMES_LONG[analyte]) :]
            date = u.effective.date().isoformat() if u.effective else "an undated result"
            found.append(
                (
                    texts["unusable_short"].format(analyte=name),
                    texts["unusable"].format(analyte=what, date=date, reason=why),
                )
            )
    if stale is not None:
        days = (now.date() - stale.effective.date()).days
        values = {
            "analyte": name,
            "lab": lab_phrase(stale),
            "date": stale.effective.date().isoformat(),
            "days": str(days),
            "limit": number(Fraction(window_days).limit_denominator(1000)),
        }
        found.append((texts["stale_short"].format(**values), texts["stale"].format(**values)))
    statuses = [status for a, status in record.uncounted if a == analyte]
    if statuses:
        values = {"analyte": name, "statuses": " or ".join(statuses)}
        found.append((texts["status_short"].format(**values), texts["status"].format(**values)))
    if analyte == "tsat" and stale is None:
        apart = _panel_apart(record.labs)
        if apart:
            found.append(
                (
                    texts["different_days_short"].format(**apart),
                    texts["different_days"].format(**apart),
                )
            )
    if not found:
        found.append(
            (texts["none_short"].format(analyte=name), texts["none"].format(analyte=name))
        )
    return found[0][0], "; ".join([long for _, long in found])


def _panel_apart(labs: tuple[LabFact, ...]) -> dict[str, str] | None:
    """The latest serum iron and TIBC (or UIBC) when they were never drawn on the same day."""
    iron = _latest([f for f in labs if f.analyte == "iron"])
    partners = [f for f in labs if f.analyte in ("tibc", "uibc")]
    partner = _latest(partners)
    if iron is None or partner is None:
        return None
    iron_days = {f.effective.date() for f in labs if f.analyte == "iron"}
    if any(p.effective.date() in iron_days for p in partners):
        return None
    return {
        "iron_date": iron.effective.date().isoformat(),
        "partner": "TIBC" if partner.analyte == "tibc" else "UIBC",
        "partner_date": partner.effective.date().isoformat(),
    }


_LATEST_OF = frozenset({"ferritin", "tsat", "hemoglobin"})  # analytes read as their latest result
_ONE_DAY = timedelta(days=1)


def iron_status(
    record: PatientRecord,
    now: datetime,
    window_days: float,
    plausible: Mapping[str, PlausibleRange] | None = None,
    texts: Mapping[str, str] | None = None,
) -> IronStatus:
    """The most recent usable ferritin, TSAT (reported or computed) and hemoglobin, if fresh.

    One pass over the labs: the latest result of each analyte (the first of equal times, as
    ``max`` picks), dated at most a day ahead; TSAT is computed only when a panel was drawn.
    """
    not_after = now + _ONE_DAY
    latest: dict[str, LabFact] = {}
    panel = False
    for fact in record.labs:
        analyte = fact.analyte
        if analyte in _LATEST_OF:
            if fact.effective <= not_after:
                held = latest.get(analyte)
                if held is None or fact.effective > held.effective:
                    latest[analyte] = fact
        elif analyte in _PANEL:
            panel = True
    computed = computed_tsat(record.labs, (plausible or {}).get("tsat")) if panel else None
    set_aside: tuple[UnusableLab, ...] = ()
    if isinstance(computed, UnusableLab):
        set_aside, computed = (computed,), None
    reported = latest.get("tsat")
    # The newer day wins; on the same day the reported value does.
    if computed is not None and (
        reported is None or computed.effective.date() > reported.effective.date()
    ):
        latest["tsat"] = computed
    fresh: dict[str, LabFact] = {}
    stale: list[LabFact] = []
    for analyte in ("ferritin", "tsat", "hemoglobin"):
        fact = latest.get(analyte)
        if fact is not None:
            if is_fresh(fact, now, window_days):
                fresh[analyte] = fact
            else:
                stale.append(fact)
    unusable = _unusable_unanswered(record.unusable_labs + set_aside, fresh)
    why: tuple[tuple[str, str], ...] = ()
    if texts is not None:
        why = tuple([
            _why_missing(
                analyte,
                record,
                next((f for f in stale if f.analyte == analyte), None),
                unusable,
                now,
                window_days,
                texts,
            )
            for analyte in ("ferritin", "tsat")
            if analyte not in fresh
        ])
    return IronStatus(
        fresh.get("ferritin"),
        fresh.get("tsat"),
        fresh.get("hemoglobin"),
        tuple(stale),
        unusable,
        why,
    )


def _unusable_unanswered(
    unusable: tuple[UnusableLab, ...], fresh: dict[str, LabFact]
) -> tuple[UnusableLab, ...]:
    """The unusable ferritin and TSAT results that no fresh usable one is newer than."""
    if not unusable:
        return ()
    return tuple([
        u
        for u in unusable
        if u.analyte in ("ferritin", "tsat")
        and (u.analyte not in fresh or (u.effective and u.effective > fresh[u.analyte].effective))
    ])


def below(fact: LabFact | None, threshold: Fraction, inclusive: bool) -> bool | None:
    """Is the true value below (or at, when inclusive) ``threshold``? None when unknowable.

    A comparator makes the value a bound: '<10' is surely at most 75, '<100' may or may not be.
    Both sides are exact (Fractions), so 75 ng/mL computed from 168.525 pmol/L is at most 75.
    """
    if fact is None:
        return None
    comparator = fact.comparator
    # One exact comparison of integers (a/b against c/d, denominators positive, is a*d against
    # c*b): -1 below, 0 equal, 1 above. Fraction's own operators give the same, far slower.
    # as_integer_ratio: one call for both terms, where .numerator and .denominator are two.
    numerator, denominator = fact.value.as_integer_ratio()
    limit_numerator, limit_denominator = threshold.as_integer_ratio()
    diff = numerator * limit_denominator - limit_numerator * denominator
    order = (diff > 0) - (diff < 0)
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
    # Membership, not any()/all() over a generator (a few K instructions more): the answers
    # are True, False or None, and among those only True equals True, only False False.
    if True in answers:
        return QUALIFIES
    if None not in answers:  # no yes and no unknown: every answer is no
        return NOT_QUALIFIES
    return UNKNOWN


def combine_all(*answers: bool | None) -> Decision:
    """Qualifies when every answer is yes; not when any is no; else unknown."""
    if False in answers:  # (membership: see combine_any)
        return NOT_QUALIFIES
    if None not in answers:  # no no and no unknown: every answer is yes
        return QUALIFIES
    return UNKNOWN
