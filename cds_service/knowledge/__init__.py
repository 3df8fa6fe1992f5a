"""Loads the versioned knowledge files (codes, parameters, recommendations, citations) once.

This package holds data; this module only turns it into frozen, indexed objects. It imports
nothing else from the service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

FILES = ("valuesets", "medications", "parameters", "recommendations", "citations")
MAX_CACHED_NAME = 512  # characters; a medication's name and text are far shorter
MAX_CACHED_CODINGS = 8  # codings of one concept; real ones carry one to three
MAX_CACHED_CODING = 256  # characters of a coding's system plus code
MAX_MEMO = 4096  # answers kept per table before it starts afresh
INGREDIENT_LEVEL_TTYS = frozenset({"IN", "PIN", "MIN"})  # codes that say nothing of formulation
T = TypeVar("T")


def normalise_code(system: str, code: str) -> str:
    """ICD-10-CM codes arrive with and without the dot and in either case."""
    code = code.strip()
    return code.replace(".", "").upper() if system == "icd10cm" else code


@dataclass(frozen=True)
class ConceptSet:
    """A clinical concept: exact codes, code prefixes (ICD-10-CM chapters) and name fragments.

    A concept that carries any coding is judged by its codes alone: a family-history code whose
    text mentions RLS is not RLS. Names are read only when there is no coding at all, and never
    from negated, family-history, "history of" or "rule out" text.
    """

    id: str
    display: str
    codes: frozenset[tuple[str, str]]
    prefixes: tuple[tuple[str, str], ...]
    names: tuple[str, ...]
    excluded_prefixes: tuple[tuple[str, str], ...] = ()
    negation: re.Pattern[str] | None = None

    @cached_property
    def _prefixes_by_system(self) -> dict[str, tuple[str, ...]]:
        return _by_system(self.prefixes)

    @cached_property
    def _excluded_by_system(self) -> dict[str, tuple[str, ...]]:
        return _by_system(self.excluded_prefixes)

    @cached_property
    def _memo(self) -> dict[object, str | None]:
        return {}

    def match(self, codings: tuple[tuple[str, str], ...], text: str = "") -> str | None:
        """'code', 'text' (no coding at all; the text names it, not negated) or None.

        Answers are remembered per coding tuple (or per text, when there is no coding): the
        same few problem-list codes come back on every request, and working one out costs
        several K instructions. Only small keys are kept (see ``remember``).
        """
        key: object = codings or text
        answer = self._memo.get(key, _MISSING)
        if answer is _MISSING:
            answer = self._match(codings, text)
            if small_concept(codings, text):
                remember(self._memo, key, answer)
        return answer  # type: ignore[return-value]

    def _match(self, codings: tuple[tuple[str, str], ...], text: str) -> str | None:
        if codings:
            return "code" if self._coded(codings) else None
        if not text or (self.negation is not None and self.negation.search(text)):
            return None
        lowered = text.lower()
        return "text" if any(name in lowered for name in self.names) else None

    def matches(self, codings: tuple[tuple[str, str], ...], text: str = "") -> bool:
        return self.match(codings, text) is not None

    def _coded(self, codings: tuple[tuple[str, str], ...]) -> bool:
        prefixes, excluded = self._prefixes_by_system, self._excluded_by_system
        found = False
        for system, code in codings:
            norm = normalise_code(system, code)
            if system in excluded and norm.startswith(excluded[system]):
                return False  # a family-history code vetoes the whole concept
            if (system, norm) in self.codes:
                found = True
            elif system in prefixes and norm.startswith(prefixes[system]):
                found = True
        return found


_MISSING = object()


def small_concept(codings: tuple[tuple[str, str], ...], text: str, extra: str = "") -> bool:
    """Whether a concept is small enough to be a cache key: a request cannot fill memory
    with huge codes or texts, whatever it sends."""
    if len(codings) > MAX_CACHED_CODINGS or len(text) + len(extra) > MAX_CACHED_NAME:
        return False
    for system, code in codings:
        if len(system) + len(code) > MAX_CACHED_CODING:
            return False
    return True


def remember(table: dict[Any, Any], key: object, value: object) -> None:
    """``table[key] = value``, emptying the table first when it holds ``MAX_MEMO`` answers."""
    if len(table) >= MAX_MEMO:
        table.clear()
    table[key] = value


def _by_system(pairs: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, tuple[str, ...]] = {}
    for system, prefix in pairs:
        grouped[system] = grouped.get(system, ()) + (prefix,)
    return grouped


@dataclass(frozen=True)
class Analyte:
    id: str
    display: str
    unit: str
    units: dict[str, Fraction]  # normalised spelling -> exact factor to the canonical unit
    fraction_units: frozenset[str]


@dataclass(frozen=True)
class PlausibleRange:
    """The values (canonical unit) a real result of one analyte can take; others are set aside."""

    analyte: str
    unit: str
    low: Fraction
    low_inclusive: bool  # "min" in the file; "above" makes the lower limit exclusive
    high: Fraction
    why_low: str  # short reasons shown on the card
    why_high: str

    def problem(self, value: Fraction, comparator: str = "") -> str | None:
        """Why ``value`` cannot be a real result, or None when it can.

        A bound is judged by what it allows: '<1 ng/mL' is a real (very low) ferritin, so a
        '<' bound is refused only when it allows nothing above zero, a '>' bound only when it
        allows nothing within the upper limit.
        """
        # Compared as integers (cross-multiplied, denominators > 0): exact like Fraction's own
        # operators, at a fraction of their cost on every lab result.
        num, den = value.as_integer_ratio()
        low_num, low_den, high_num, high_den = self._ratios
        over_high = num * high_den - high_num * den  # the sign of value - high
        if comparator in ("<", "<="):
            too_low, too_high = num <= 0, False
        elif comparator in (">", ">="):
            too_low = False
            too_high = over_high > 0 or (comparator == ">" and over_high == 0)
        else:
            under_low = low_num * den - num * low_den  # the sign of low - value
            too_low = under_low > 0 or (under_low == 0 and not self.low_inclusive)
            too_high = over_high > 0
        if not (too_low or too_high):
            return None
        side, why = ("below", self.why_low) if too_low else ("above", self.why_high)
        return f"{side} the plausible range {self.describe()}: {why}"

    @cached_property
    def _ratios(self) -> tuple[int, int, int, int]:
        """low and high as (numerator, denominator) pairs, read once."""
        return (*self.low.as_integer_ratio(), *self.high.as_integer_ratio())

    def describe(self) -> str:
        """'1 to 100 %', 'more than 0 to 1000000 ng/mL'."""
        low = exact_text(self.low) if self.low_inclusive else f"more than {exact_text(self.low)}"
        return f"{low} to {exact_text(self.high)} {self.unit}"


@dataclass(frozen=True)
class Ingredient:
    id: str
    display: str
    drug_class: str
    codes: frozenset[str]
    pattern: re.Pattern[str]
    refractory_option: bool
    product_codes: frozenset[str] = frozenset()  # SCD/SBD/packs: the code says the formulation
    variant_of: str | None = None  # this entry is a formulation (e.g. ER) of that ingredient
    formulation: re.Pattern[str] | None = None  # how an order's text names that formulation


class IngredientIndex:
    """Which ingredient a medication is: by RxNorm code, else by name; file order breaks ties.

    Answers to name matching are kept in a bounded cache: medication names repeat across every
    patient of a site. Only names of ordinary length are kept, so huge texts cannot fill memory.
    """

    def __init__(self, ingredients: tuple[Ingredient, ...]) -> None:
        self._ingredients = ingredients
        self._rank = {ingredient.id: n for n, ingredient in enumerate(ingredients)}
        self._by_code: dict[str, Ingredient] = {}
        for ingredient in ingredients:
            for code in ingredient.codes:
                self._by_code.setdefault(code, ingredient)
        # One search rules out the many medication names that match no ingredient.
        self._any_name = re.compile(
            "|".join(f"(?:{i.pattern.pattern})" for i in ingredients), re.IGNORECASE
        )
        self._cached_by_name = lru_cache(maxsize=8192)(self._by_name)
        # (codings, text, form) -> ingredient, filled by engine.medications: answers depend
        # on this index alone, so they live with it (an attribute: cheaper than derived()).
        self.answers: dict[tuple[Any, str, str], Ingredient | None] = {}
        self._variants: dict[str, tuple[Ingredient, ...]] = {}
        for ingredient in ingredients:
            if ingredient.variant_of:
                base = ingredient.variant_of
                self._variants[base] = self._variants.get(base, ()) + (ingredient,)

    def by_name(self, text: str) -> Ingredient | None:
        """The first ingredient (in file order) whose names or name patterns occur in ``text``."""
        if len(text) <= MAX_CACHED_NAME:
            return self._cached_by_name(text)
        return self._by_name(text)

    def by_codes(self, rxcuis: Iterable[str]) -> Ingredient | None:
        """The first ingredient (in file order) that lists any of ``rxcuis``."""
        found = [self._by_code[code] for code in rxcuis if code in self._by_code]
        return min(found, key=lambda i: self._rank[i.id]) if found else None

    def with_formulation(
        self, ingredient: Ingredient, rxcuis: Iterable[str], text: str
    ) -> Ingredient:
        """The formulation variant of ``ingredient`` that ``text`` names (ER oxycodone for
        oxycodone + "12 HR Extended Release"), unless a product code already fixed it."""
        variants = self._variants.get(ingredient.id, ())
        if not variants or any(code in ingredient.product_codes for code in rxcuis):
            return ingredient
        for variant in variants:
            if variant.formulation is not None and variant.formulation.search(text):
                return variant
        return ingredient

    def _by_name(self, text: str) -> Ingredient | None:
        # Case-insensitive regexes, not str.lower(): lower() turns "İ" into two characters.
        if not self._any_name.search(text):
            return None
        for ingredient in self._ingredients:
            if ingredient.pattern.search(text):
                return ingredient
        return None


@dataclass(frozen=True)
class Knowledge:
    """All knowledge files, loaded and indexed."""

    version: str
    raw: dict[str, Any]
    systems: dict[str, str]  # system URI -> short name
    conditions: dict[str, ConceptSet]
    analytes: dict[str, Analyte]
    analyte_by_loinc: dict[str, str]
    analyte_by_coding: dict[tuple[object, object], str]  # (system URI, code) -> analyte
    usable_lab_statuses: frozenset[str]
    ingredients: tuple[Ingredient, ...]
    ingredient_index: IngredientIndex
    classes: dict[str, dict[str, Any]]
    parameters: dict[str, float]
    thresholds: dict[str, Fraction]  # the same parameters, exact, for comparisons with labs
    plausible: dict[str, PlausibleRange]  # per analyte
    rules: dict[str, dict[str, Any]]
    citations: dict[str, dict[str, str]]
    notes: dict[str, str]
    card_rank: dict[str, int]  # rule id -> its place in recommendations.json "card_order"

    def system_name(self, uri: object) -> str:
        """'loinc' for any spelling of LOINC's URI; other strings as given; '' for non-strings."""
        if not isinstance(uri, str):
            return ""
        return self.systems.get(uri, uri)

    def param(self, name: str) -> float:
        return self.parameters[name]

    def threshold(self, name: str) -> Fraction:
        """A lab threshold exactly as parameters.json writes it (75, 12.5), for exact comparison."""
        return self.thresholds[name]

    def derived(self, build: Callable[[Knowledge], T]) -> T:
        """``build(self)``, made once per knowledge object: the views other modules precompute
        from the files (card texts, rule tables) instead of redoing that work on every request.

        Held outside the fields, so ``dataclasses.replace`` (a changed file) starts afresh.
        """
        try:  # the common case first: no empty dict made for setdefault on every call
            return self.__dict__["_derived"][build]  # type: ignore[no-any-return]
        except KeyError:
            held: dict[Callable[[Knowledge], Any], Any] = self.__dict__.setdefault("_derived", {})
            value = held[build] = build(self)
            return value

    def derived_by_key(self, build: Callable[[Knowledge, str], T]) -> dict[str, T]:
        """A table of ``build(self, key)``, each made the first time its key is looked up and
        kept with this knowledge object (a rule's card parts, a note's parsed template)."""
        try:
            return self.__dict__["_by_key"][build]  # type: ignore[no-any-return]
        except KeyError:
            tables: dict[Callable[..., Any], Any] = self.__dict__.setdefault("_by_key", {})
            table = tables[build] = _ByKey(self, build)
            return table


class _ByKey(dict):  # type: ignore[type-arg]
    """``build(knowledge, key)`` per key, made on the first lookup of that key."""

    def __init__(self, knowledge: Knowledge, build: Callable[[Knowledge, str], Any]) -> None:
        super().__init__()
        self._knowledge, self._build = knowledge, build

    def __missing__(self, key: str) -> Any:
        value = self[key] = self._build(self._knowledge, key)
        return value


def exact(value: object) -> Fraction:
    """A number from a knowledge file, exactly as written: 12.5, or an exact ratio "1/2.247".

    json gives floats; repr() of a float is the decimal the file holds (at most 15 digits).
    """
    if isinstance(value, str):
        numerator, _, denominator = value.partition("/")
        ratio = Fraction(Decimal(numerator.strip()))
        return ratio / Fraction(Decimal(denominator.strip())) if denominator else ratio
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    return Fraction(Decimal(repr(value)))


def exact_text(value: Fraction | None) -> str:
    """75 -> '75', 12.5 -> '12.5' (knowledge limits are short decimals)."""
    if value is None:
        return ""
    text = f"{Decimal(value.numerator) / Decimal(value.denominator):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _read(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def _concept(cid: str, spec: dict[str, Any], negation: re.Pattern[str] | None) -> ConceptSet:
    codes = frozenset((c["system"], normalise_code(c["system"], c["code"])) for c in spec["codes"])
    prefixes = tuple(
        (p["system"], normalise_code(p["system"], p["prefix"]))
        for p in spec.get("code_prefixes", [])
    )
    excluded = tuple(
        (p["system"], normalise_code(p["system"], p["prefix"]))
        for p in spec.get("excluded_code_prefixes", [])
    )
    names = tuple(n.lower() for n in spec.get("names", []))
    return ConceptSet(cid, spec["display"], codes, prefixes, names, excluded, negation)


def _negation(phrases: list[str]) -> re.Pattern[str] | None:
    """One pattern for the words that make a condition's text not a diagnosis of it."""
    if not phrases:
        return None
    return re.compile("|".join(rf"(?<!\w){re.escape(p)}(?!\w)" for p in phrases), re.IGNORECASE)


def _ingredient(spec: dict[str, Any], formulations: dict[str, Any]) -> Ingredient:
    alternatives = [r"\b" + re.escape(n.lower()) + r"\b" for n in spec["names"]]
    alternatives += spec.get("name_patterns", [])
    formulation = spec.get("formulation")
    return Ingredient(
        id=spec["id"],
        display=spec["display"],
        drug_class=spec["class"],
        codes=frozenset(c["code"] for c in spec["codes"]),
        pattern=re.compile("|".join(alternatives), re.IGNORECASE),
        refractory_option=bool(spec.get("refractory_option", False)),
        product_codes=frozenset(
            c["code"] for c in spec["codes"] if c["tty"] not in INGREDIENT_LEVEL_TTYS
        ),
        variant_of=spec.get("variant_of"),
        formulation=re.compile("|".join(formulations[formulation]["patterns"]), re.IGNORECASE)
        if formulation
        else None,
    )


def _analyte(aid: str, spec: dict[str, Any]) -> Analyte:
    return Analyte(
        aid,
        spec["display"],
        spec["unit"],
        {key: exact(factor) for key, factor in spec["units"].items()},
        frozenset(spec.get("fraction_units", [])),
    )


def _plausible(aid: str, spec: dict[str, Any]) -> PlausibleRange:
    inclusive = "min" in spec
    low = exact(spec["min"] if inclusive else spec["above"])
    return PlausibleRange(
        aid, spec["unit"], low, inclusive, exact(spec["max"]), spec["why_low"], spec["why_high"]
    )


@lru_cache(maxsize=1)
def load_knowledge() -> Knowledge:
    """Read and index every knowledge file (cached: the files are immutable at run time)."""
    return build_knowledge({name: _read(name) for name in FILES})


def load_knowledge_dir(directory: Path | str) -> Knowledge:
    """The knowledge files of another directory (e.g. a candidate version, for a replay)."""
    base = Path(directory)
    return build_knowledge(
        {name: json.loads((base / f"{name}.json").read_text("utf-8")) for name in FILES}
    )


def build_knowledge(raw: dict[str, Any]) -> Knowledge:
    """Index the parsed knowledge files (``raw``: file name without .json -> its JSON)."""
    versions = {raw[name]["version"] for name in FILES}
    if len(versions) != 1:
        raise ValueError(f"knowledge files disagree on their version: {sorted(versions)}")
    vs, meds, recs = raw["valuesets"], raw["medications"], raw["recommendations"]
    systems = {uri: short for short, uris in vs["systems"].items() for uri in uris}
    analytes = {aid: _analyte(aid, spec) for aid, spec in vs["analytes"].items()}
    by_loinc = {c["code"]: aid for aid, spec in vs["analytes"].items() for c in spec["codes"]}
    ingredients = tuple(
        _ingredient(spec, meds.get("formulations", {})) for spec in meds["ingredients"]
    )
    negation = _negation(vs.get("condition_text_negations", []))
    return Knowledge(
        version=versions.pop(),
        raw=raw,
        systems=systems,
        conditions={
            cid: _concept(cid, spec, negation) for cid, spec in vs["conditions"].items()
        },
        analytes=analytes,
        analyte_by_loinc=by_loinc,
        analyte_by_coding={
            (uri, code): aid for code, aid in by_loinc.items() for uri in vs["systems"]["loinc"]
        },
        usable_lab_statuses=frozenset(vs["usable_lab_statuses"]),
        ingredients=ingredients,
        ingredient_index=IngredientIndex(ingredients),
        classes=meds["classes"],
        parameters={k: float(v["value"]) for k, v in raw["parameters"]["parameters"].items()},
        thresholds={k: exact(v["value"]) for k, v in raw["parameters"]["parameters"].items()},
        plausible={
            aid: _plausible(aid, spec)
            for aid, spec in raw["parameters"]["plausible_ranges"].items()
        },
        rules=recs["rules"],
        citations=raw["citations"]["citations"],
        notes=recs["notes"],
        card_rank={rule_id: i for i, rule_id in enumerate(recs["card_order"])},
    )
