"""Prefetch fallback against real sekmet-fhir R4 servers, one open and one bearer-protected."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from cds_service.fhir.client import FhirAccessPolicy, FhirClient, FhirUnavailable
from cds_service.fhir.fallback import fill_missing_prefetch, make_session

from .bench_fallback import delaying_proxy, measure, report
from .prefetch_templates import TEMPLATES
from .rls_fixtures import PATIENT_A, PATIENT_B
from .sekmet_harness import SEKMET_TOKEN, SekmetServer, count_requests, free_port


def _policy(server: SekmetServer, **kw: object) -> FhirAccessPolicy:
    return FhirAccessPolicy(allowlist=(server.base_url,), allow_http=True, **kw)  # type: ignore[arg-type]


def _body(base_url: str, patient: str = PATIENT_A, token: str | None = None) -> dict:
    body: dict = {
        "hook": "patient-view",
        "hookInstance": "7e0e6a8e-5b0e-4f55-9f43-63d1a44b8a4c",
        "fhirServer": base_url,
        "context": {"userId": "Practitioner/doc-1", "patientId": patient},
    }
    if token is not None:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "cds",
        }
    return body


def _ids(bundle: object, rtype: str | None = None) -> list[str]:
    assert isinstance(bundle, dict) and bundle["resourceType"] == "Bundle"
    return [
        e["resource"]["id"]
        for e in bundle.get("entry", [])
        if rtype is None or e["resource"]["resourceType"] == rtype
    ]


def _fill(server: SekmetServer, body: dict, prefetch: dict | None = None, **kw: object) -> dict:
    with ThreadPoolExecutor(6) as pool:  # drained: no fetch outlives the test
        return fill_missing_prefetch(
            TEMPLATES,
            body,
            prefetch,
            policy=_policy(server, **kw),
            session=make_session(),
            executor=pool,
        )


def test_open_server_without_token_fills_every_key(sekmet_open: SekmetServer) -> None:
    result = _fill(sekmet_open, _body(sekmet_open.base_url))
    assert result["patient"]["id"] == PATIENT_A
    assert _ids(result["conditions"]) == ["rls-a-rls"]  # the resolved condition is not active
    iron = _ids(result["ironStudies"])
    assert sorted(iron) == ["rls-a-ferritin", "rls-a-ferritin-old", "rls-a-tsat"]  # no glucose
    assert iron[-1] == "rls-a-ferritin-old"  # _sort=-date: newest first
    assert _ids(result["medications"], "MedicationRequest") == ["rls-a-pramipexole"]
    assert _ids(result["medications"], "Medication") == ["rls-med-pramipexole"]  # _include
    assert _ids(result["medicationHistory"]) == ["rls-a-ferrous-sulfate"]
    assert _ids(result["ivIronAdministrations"]) == ["rls-a-fcm"]


def test_empty_searches_are_data_not_errors(sekmet_open: SekmetServer) -> None:
    result = _fill(sekmet_open, _body(sekmet_open.base_url, PATIENT_B))
    assert _ids(result["conditions"]) == ["rls-b-rls"]
    for key in ("ironStudies", "medications", "medicationHistory", "ivIronAdministrations"):
        assert result[key]["total"] == 0 and _ids(result[key]) == [], key


def test_partial_prefetch_fetches_only_absent_and_outcome_keys(sekmet_open: SekmetServer) -> None:
    session = make_session()
    adapter = count_requests(session)
    given = {
        "patient": {"resourceType": "Patient", "id": PATIENT_A},
        "medications": None,
        "conditions": {"resourceType": "OperationOutcome", "issue": []},
    }
    result = fill_missing_prefetch(
        TEMPLATES, _body(sekmet_open.base_url), given, policy=_policy(sekmet_open), session=session
    )
    assert result["patient"] is given["patient"] and result["medications"] is None
    assert _ids(result["conditions"]) == ["rls-a-rls"]
    fetched = sorted(url.split("/fhir/")[1].split("?")[0] for url in adapter.sent)
    assert fetched == ["Condition", "MedicationAdministration", "MedicationRequest", "Observation"]


def test_secured_server_refuses_without_token(sekmet_secured: SekmetServer) -> None:
    with pytest.raises(FhirUnavailable) as info:
        _fill(sekmet_secured, _body(sekmet_secured.base_url))
    assert info.value.reason == "FHIR server answered 401" and info.value.key in TEMPLATES


def test_secured_server_refuses_a_wrong_token(sekmet_secured: SekmetServer) -> None:
    with pytest.raises(FhirUnavailable, match="answered 401"):
        _fill(sekmet_secured, _body(sekmet_secured.base_url, token="not-the-token"))


def test_secured_server_gives_data_with_the_token(sekmet_secured: SekmetServer) -> None:
    result = _fill(sekmet_secured, _body(sekmet_secured.base_url, token=SEKMET_TOKEN))
    assert result["patient"]["id"] == PATIENT_A
    assert sorted(_ids(result["ironStudies"])) == [
        "rls-a-ferritin",
        "rls-a-ferritin-old",
        "rls-a-tsat",
    ]


def test_unknown_patient_read_is_unavailable(sekmet_open: SekmetServer) -> None:
    with pytest.raises(FhirUnavailable, match="answered 404") as info:
        _fill(sekmet_open, _body(sekmet_open.base_url, "no-such-patient"))
    assert info.value.key == "patient"


def test_paging_follows_next_links_up_to_the_cap(sekmet_open: SekmetServer) -> None:
    session = make_session()
    adapter = count_requests(session)
    client = FhirClient(sekmet_open.base_url, None, _policy(sekmet_open), session)
    bundle = client.get(f"Observation?patient={PATIENT_A}&_count=1", time.monotonic() + 5)
    assert len(_ids(bundle)) == 4 and len(adapter.sent) == 4
    assert [link["relation"] for link in bundle["link"]] == ["self"]
    capped = FhirClient(sekmet_open.base_url, None, _policy(sekmet_open, max_pages=2), session)
    bundle = capped.get(f"Observation?patient={PATIENT_A}&_count=1", time.monotonic() + 5)
    assert len(_ids(bundle)) == 2 and len(adapter.sent) == 6
    assert "next" in [link["relation"] for link in bundle["link"]]


@pytest.mark.parametrize("allow", ["http://127.0.0.1:1/fhir", "https://ehr.example.org/fhir", ""])
def test_server_not_on_the_allowlist_gets_no_request(sekmet_open: SekmetServer, allow: str) -> None:
    session = make_session()
    adapter = count_requests(session)
    policy = FhirAccessPolicy(allowlist=(allow,) if allow else (), allow_http=True)
    with pytest.raises(FhirUnavailable, match="not on the allowlist"):
        fill_missing_prefetch(
            TEMPLATES, _body(sekmet_open.base_url), {}, policy=policy, session=session
        )
    assert adapter.sent == []


def test_http_server_refused_unless_allowed(sekmet_open: SekmetServer) -> None:
    session = make_session()
    adapter = count_requests(session)
    policy = FhirAccessPolicy(allowlist=(sekmet_open.base_url,))
    with pytest.raises(FhirUnavailable, match="not https"):
        fill_missing_prefetch(
            TEMPLATES, _body(sekmet_open.base_url), {}, policy=policy, session=session
        )
    assert adapter.sent == []


def test_tiny_deadline_times_out(sekmet_open: SekmetServer) -> None:
    with pytest.raises(FhirUnavailable, match="timed out"):
        _fill(sekmet_open, _body(sekmet_open.base_url), deadline_s=0.001)


@pytest.fixture()
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/fhir"


def test_silent_server_times_out_within_the_deadline(silent_server: str) -> None:
    policy = FhirAccessPolicy(allowlist=(silent_server,), allow_http=True, deadline_s=0.4)
    start = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        with pytest.raises(FhirUnavailable, match=r"timed out after 0\.4 s"):
            fill_missing_prefetch(
                TEMPLATES,
                _body(silent_server),
                {},
                policy=policy,
                session=make_session(),
                executor=pool,
            )
        assert time.monotonic() - start < 1.0  # the deadline, not the pool's drain
    assert time.monotonic() - start < 2.0


def test_dead_server_is_unavailable() -> None:
    dead = f"http://127.0.0.1:{free_port()}/fhir"
    policy = FhirAccessPolicy(allowlist=(dead,), allow_http=True)
    with pytest.raises(FhirUnavailable, match="could not connect to FHIR server"):
        fill_missing_prefetch(TEMPLATES, _body(dead), {}, policy=policy, session=make_session())


def test_latency_concurrent_vs_sequential(sekmet_open: SekmetServer) -> None:
    direct = measure(sekmet_open.base_url, rounds=5)
    with delaying_proxy(sekmet_open.base_url, 50) as url:
        remote = measure(url, rounds=3)
    print(
        "\nprefetch fallback latency against sekmet-fhir:\n"
        + report(direct, "loopback  ")
        + "\n"
        + report(remote, "+50 ms    ")
    )
    assert remote["concurrent"]["median_ms"] < remote["sequential"]["median_ms"]
    assert remote["sequential"]["median_ms"] >= 6 * 50
