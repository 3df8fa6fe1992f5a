"""The provenance shortcuts give what the general paths give."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.engine.format import number
from cds_service.governance.provenance import _reference, shown_number
from cds_service.governance.stamp import KnowledgeStamp

# number() rounds through 28-digit decimals: lab values, not astronomical ones
fractions = st.one_of(
    st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=10**6),
    st.builds(
        Fraction,
        st.integers(-(10**20), 10**20),
        st.sampled_from([1, 2, 4, 5, 10, 20, 25, 50, 100]),
    ),
)


@settings(max_examples=2000, deadline=None)
@given(fractions)
def test_shown_number_is_the_float_of_the_shown_text(value: Fraction) -> None:
    assert shown_number(value) == float(number(value))


def _general_reference(ref: str, resources: Any) -> dict[str, Any]:
    """The reference as it was built before the shortcut for resources without meta."""
    kind, _, ident = ref.partition("/")
    out: dict[str, Any] = {"type": kind, "id": ident}
    meta = (resources(ref) or {}).get("meta")
    version = meta.get("versionId") if isinstance(meta, Mapping) else None
    if isinstance(version, str) and version:
        out["versionId"] = version
    return out


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=2),
    max_leaves=4,
)
metas = st.one_of(
    st.none(),
    json_values,
    st.fixed_dictionaries({"versionId": json_values}),
    st.fixed_dictionaries({"versionId": st.text(max_size=3)}).map(MappingProxyType),
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.none(), st.just({}), st.builds(lambda m: {"meta": m}, metas)))
def test_a_reference_reads_the_version_as_before(resource: dict[str, Any] | None) -> None:
    def lookup(ref: str) -> dict[str, Any] | None:
        return resource

    ref = "Observation/o-1"
    assert _reference(ref, lookup) == _general_reference(ref, lookup)


def test_the_stamp_entry_is_its_version_and_hash() -> None:
    stamp = KnowledgeStamp("2026.11.0", "ab" * 32)
    assert stamp.entry == {"version": "2026.11.0", "sha256": "ab" * 32}
    assert stamp.entry is stamp.entry  # made once
