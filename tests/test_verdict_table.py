"""The table of validation verdicts: same verdicts as the uncached check, bounded, and holding
exact-size keys (orjson's bytes keep a spare buffer of about 4 KB: a full table of those was
14 MB of a worker's memory instead of 3 MB, measured with bench.memory's new patients)."""

from __future__ import annotations

import tracemalloc
from typing import Any

import orjson
import pytest

from cds_service.fhir import validation
from cds_service.fhir.validation import _invalid_reason_of, invalid_reason
from cds_service.knowledge import MAX_MEMO


def _observation(number: int, value: Any = 40) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"ferritin-{number}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2276-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-02T08:00:00Z",
        "valueQuantity": {"value": value, "unit": "ng/mL"},
        "note": [{"text": "x" * 500}],
    }


@pytest.fixture(autouse=True)
def _empty_table() -> None:
    validation._VERDICTS.clear()


def test_verdicts_are_the_uncached_check_s_and_repeat() -> None:
    good, bad = _observation(1), _observation(2, value="forty")
    for resource in (good, bad, good, bad):
        assert invalid_reason(resource) == _invalid_reason_of(orjson.dumps(resource))
    assert invalid_reason(good) is None
    assert invalid_reason(bad) is not None
    assert len(validation._VERDICTS) == 2


def test_table_is_bounded() -> None:
    for number in range(MAX_MEMO + 10):
        invalid_reason(_observation(number))
    assert 0 < len(validation._VERDICTS) <= MAX_MEMO


def test_keys_are_stored_at_their_own_size() -> None:
    resources = [_observation(number) for number in range(200)]
    size = len(orjson.dumps(resources[0]))
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for resource in resources:
            invalid_reason(resource)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    kept = sum(
        stat.size_diff
        for stat in after.compare_to(before, "filename")
        if stat.traceback[0].filename == validation.__file__
    )
    assert kept < 200 * (size + 200), (kept, size)  # an orjson buffer would be ~4 KB each
