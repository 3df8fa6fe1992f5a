"""The hot-path shortcuts read exactly what the general paths read."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.fhir.dates import parse_fhir_datetime
from cds_service.fhir.labs import analyte_of
from cds_service.knowledge import load_knowledge


def _general(text: str) -> datetime | None:
    """The general path: a final Z rewritten as +00:00 first (what every string took before)."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-01T10:00:00Z",
        "2026-10-01T10:00:00.123Z",
        "2026-10-01T10:00Z",
        "2026-10-01T24:00:00Z",
        "2026-13-01T10:00:00Z",
        "2026-10-01T10:00:00ZZ",
        "2026-10-01T10:00:00+01:00Z",
    ],
)
def test_final_z_datetimes_read_as_with_the_rewrite(text):
    assert parse_fhir_datetime(text) == _general(text)


def test_a_date_with_a_z_still_takes_the_general_path():
    # Python reads "2026-10-01+00:00" but not "2026-10-01Z": the shortcut must not change that.
    assert parse_fhir_datetime("2026-10-01Z") == datetime(2026, 10, 1, tzinfo=UTC)


def test_final_z_is_utc():
    parsed = parse_fhir_datetime("2026-10-01T10:00:00Z")
    assert parsed == datetime(2026, 10, 1, 10, tzinfo=UTC) and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("coding", "expected"),
    [
        ({"system": "http://loinc.org", "code": "2276-4"}, "ferritin"),
        ({"system": ["http://loinc.org"], "code": "2276-4"}, None),  # unhashable: no error
        ({"system": "http://loinc.org", "code": {"c": "2276-4"}}, None),
        ({"system": "http://loinc.org", "code": 2276}, None),
        ({"system": None, "code": "2276-4"}, None),
    ],
)
def test_analyte_lookup_without_type_checks_finds_only_string_codings(coding, expected):
    knowledge = load_knowledge()
    observation = {"resourceType": "Observation", "code": {"coding": [coding]}}
    assert analyte_of(knowledge, observation) == expected
    lone = {"resourceType": "Observation", "code": {"coding": coding}}  # a lone object
    assert analyte_of(knowledge, lone) == expected


def test_a_later_coding_is_found_after_an_unreadable_one():
    knowledge = load_knowledge()
    codings = [{"system": ["x"], "code": "1"}, {"system": "http://loinc.org", "code": "2502-3"}]
    assert analyte_of(knowledge, {"code": {"coding": codings}}) == "tsat"


def test_access_line_is_written_directly_or_through_logging_alike(tmp_path, capsys):
    import logging

    import orjson

    from cds_service import create_app
    from cds_service.observability import ACCESS_LOGGER_NAME

    app = create_app({"require_auth": False, "data_dir": tmp_path})
    client = app.test_client()
    capsys.readouterr()
    client.get("/cds-services")
    direct = capsys.readouterr().out.splitlines()
    extra = logging.Handler()
    seen: list[str] = []
    extra.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(ACCESS_LOGGER_NAME)
    logger.addHandler(extra)  # a second handler: the LogRecord path, both handlers served
    try:
        client.get("/cds-services")
    finally:
        logger.removeHandler(extra)
    through_logging = capsys.readouterr().out.splitlines()
    assert len(direct) == len(through_logging) == len(seen) == 1
    first, second = orjson.loads(direct[0]), orjson.loads(through_logging[0])
    assert seen[0] == through_logging[0]
    for line in (first, second):
        del line["ts"], line["duration_ms"]
    assert first == second == {"method": "GET", "path": "/cds-services", "status": 200}


@pytest.mark.parametrize(
    "text",
    ["2026-10-01T24:00:00Z", "2026-02-30T10:00:00Z", "2026-10-01T10:00:0ZZ", "2026-10-01T10:00:00z",
     " 2026-10-01T10:00:0Z", "2026-10-01 10:00:00Z", "0001-01-01T00:00:00Z"],
)
def test_the_twenty_character_shortcut_refuses_and_accepts_as_the_general_path(text):
    assert parse_fhir_datetime(text) == _general(text.strip())


def _date_as_it_was(text: str) -> datetime | None:
    """parse_fhir_datetime's ten-character branch before: the naive parse, then UTC set."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        return None


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="0123456789-WT:Z+. ", min_size=10, max_size=10)
       | st.dates().map(date.isoformat) | st.sampled_from(["2026-W45-1", "0001W01000", "2026-02-29",
                                                           "2024-02-29", "2026-11-02"]))
def test_a_ten_character_date_reads_as_with_replace(text):
    if len(text.strip()) == 10:
        read, before = parse_fhir_datetime(text), _date_as_it_was(text.strip())
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):  # FHIR's date form: the same day
            assert read == before
        else:  # not a FHIR date ("0001W01000" was read as a week date and a time): as before,
            assert read in (None, before)  # or refused, never another moment
