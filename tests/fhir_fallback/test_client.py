"""FhirClient and FhirAccessPolicy against mocked servers ([P4], [P5])."""

from __future__ import annotations

import time

import pytest
import requests
import responses

from cds_service.fhir.client import FhirAccessPolicy, FhirClient, FhirUnavailable, url_within
from cds_service.fhir.fallback import make_session

BASE = "https://fhir.example.org/r4"
TOKEN = "tok-SECRET-123"
POLICY = FhirAccessPolicy(allowlist=(BASE, "https://other.example.net/fhir"), max_pages=3)


def _client(token: str | None = TOKEN, policy: FhirAccessPolicy = POLICY) -> FhirClient:
    return FhirClient(BASE, token, policy, make_session())


def _deadline(seconds: float = 2.0) -> float:
    return time.monotonic() + seconds


def _page(ids: list[str], next_url: str | None = None) -> dict:
    links = [{"relation": "self", "url": f"{BASE}/Observation?patient=p"}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    entries = [
        {"resource": {"resourceType": "Observation", "id": i}, "search": {"mode": "match"}}
        for i in ids
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 99,
        "link": links,
        "entry": entries,
    }


@responses.activate
def test_bearer_token_is_sent_when_given() -> None:
    responses.get(f"{BASE}/Patient/p", json={"resourceType": "Patient", "id": "p"})
    assert _client().get("Patient/p", _deadline())["id"] == "p"
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert responses.calls[0].request.headers["Accept"] == "application/fhir+json"


@responses.activate
def test_no_authorization_header_without_token() -> None:
    responses.get(f"{BASE}/Patient/p", json={"resourceType": "Patient", "id": "p"})
    _client(token=None).get("Patient/p", _deadline())
    assert "Authorization" not in responses.calls[0].request.headers


@responses.activate
def test_paging_merges_entries_and_sends_the_token_on_every_page() -> None:
    responses.get(f"{BASE}/Observation?patient=p", json=_page(["a", "b"], f"{BASE}/page2"))
    responses.get(f"{BASE}/page2", json=_page(["c"], f"{BASE}/page3"))
    responses.get(f"{BASE}/page3", json=_page(["d"]))
    bundle = _client().get("Observation?patient=p", _deadline())
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["a", "b", "c", "d"]
    assert [link["relation"] for link in bundle["link"]] == ["self"]
    assert bundle["type"] == "searchset" and bundle["total"] == 99
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in responses.calls)


@responses.activate
def test_paging_stops_at_max_pages_and_keeps_the_unfollowed_next_link() -> None:
    for n in range(1, 6):
        url = f"{BASE}/Observation?patient=p" if n == 1 else f"{BASE}/page{n}"
        responses.get(url, json=_page([f"o{n}"], f"{BASE}/page{n + 1}"))
    bundle = _client().get("Observation?patient=p", _deadline())
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["o1", "o2", "o3"]
    assert len(responses.calls) == 3
    assert {"relation": "next", "url": f"{BASE}/page4"} in bundle["link"]


@responses.activate
def test_included_resources_repeated_on_pages_are_kept_once() -> None:
    med = {"resource": {"resourceType": "Medication", "id": "m"}, "search": {"mode": "include"}}
    first, second = _page(["a"], f"{BASE}/page2"), _page(["b"])
    first["entry"].append(med)
    second["entry"].append(med)
    responses.get(f"{BASE}/MedicationRequest?patient=p", json=first)
    responses.get(f"{BASE}/page2", json=second)
    bundle = _client().get("MedicationRequest?patient=p", _deadline())
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["a", "m", "b"]


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example.com/r4/page2",
        "https://fhir.example.org/other/page2",
        "http://fhir.example.org/r4/page2",
    ],
)
@responses.activate
def test_next_link_off_the_server_is_not_followed(next_url: str) -> None:
    responses.get(f"{BASE}/Observation?patient=p", json=_page(["a"], next_url))
    with pytest.raises(FhirUnavailable, match="next link"):
        _client().get("Observation?patient=p", _deadline())
    assert len(responses.calls) == 1


@responses.activate
def test_empty_search_is_data() -> None:
    responses.get(
        f"{BASE}/Condition?patient=p",
        json={"resourceType": "Bundle", "type": "searchset", "total": 0},
    )
    bundle = _client().get("Condition?patient=p", _deadline())
    assert bundle["total"] == 0 and "entry" not in bundle


@pytest.mark.parametrize("status", [401, 403, 404, 410, 429, 500, 502, 503])
@responses.activate
def test_error_statuses_are_unavailable_without_the_token(status: int) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"diagnostics": TOKEN}]}
    responses.get(f"{BASE}/Patient/p", status=status, json=outcome)
    with pytest.raises(FhirUnavailable) as info:
        _client().get("Patient/p", _deadline())
    assert info.value.reason == f"FHIR server answered {status}"
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (requests.exceptions.ReadTimeout(), "timed out after 2.0 s"),
        (requests.exceptions.ConnectTimeout(), "timed out after 2.0 s"),
        (requests.exceptions.ConnectionError(), "could not connect to FHIR server"),
        (requests.exceptions.SSLError(), "could not connect to FHIR server"),
    ],
)
@responses.activate
def test_network_failures_are_unavailable(error: Exception, reason: str) -> None:
    responses.get(f"{BASE}/Patient/p", body=error)
    with pytest.raises(FhirUnavailable, match=reason):
        _client().get("Patient/p", _deadline())


@responses.activate
def test_deadline_already_past_sends_nothing() -> None:
    with pytest.raises(FhirUnavailable, match="timed out"):
        _client().get("Patient/p", time.monotonic() - 0.01)
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("<html>nope</html>", "other than JSON"),
        ("[1, 2]", "other than a resource"),
        ('{"resourceType": "OperationOutcome"}', "OperationOutcome for a Patient read"),
        ('{"resourceType": "Observation", "id": "p"}', "Observation for a Patient read"),
    ],
)
@responses.activate
def test_bodies_that_are_not_the_resource_are_unavailable(body: str, match: str) -> None:
    responses.get(f"{BASE}/Patient/p", body=body)
    with pytest.raises(FhirUnavailable, match=match):
        _client().get("Patient/p", _deadline())


@responses.activate
def test_oversized_answer_is_unavailable() -> None:
    big = '{"resourceType": "Patient", "x": "' + "a" * 5000 + '"}'
    responses.get(f"{BASE}/Patient/p", body=big)
    policy = FhirAccessPolicy(allowlist=(BASE,), max_response_bytes=1000)
    with pytest.raises(FhirUnavailable, match="too large"):
        _client(policy=policy).get("Patient/p", _deadline())


@pytest.mark.parametrize(
    "server",
    [
        "https://fhir.example.org.evil.com/r4",
        "https://fhir.example.org:8443/r4",
        "https://fhir.example.org/r4x",
        "https://fhir.example.org/",
        "https://user:pw@fhir.example.org/r4",
        "https://fhir.example.org/r4/../admin",
        "ftp://fhir.example.org/r4",
        "fhir.example.org/r4",
        "",
    ],
)
@responses.activate
def test_server_not_on_the_allowlist_is_never_contacted(server: str) -> None:
    with pytest.raises(FhirUnavailable) as info:
        FhirClient(server, TOKEN, POLICY, make_session())
    assert len(responses.calls) == 0
    assert TOKEN not in str(info.value)


def test_allowlist_reason_names_the_server() -> None:
    with pytest.raises(FhirUnavailable, match=r"FHIR server https://x\.org not on the allowlist"):
        FhirClient("https://x.org/fhir", None, POLICY, make_session())


def test_empty_allowlist_allows_nothing() -> None:
    with pytest.raises(FhirUnavailable, match="allowlist"):
        FhirClient(BASE, None, FhirAccessPolicy(allowlist=()), make_session())


@responses.activate
def test_http_is_refused_unless_allowed() -> None:
    server = "http://127.0.0.1:8080/fhir"
    with pytest.raises(FhirUnavailable, match="not https"):
        FhirClient(server, None, FhirAccessPolicy(allowlist=(server,)), make_session())
    responses.get(f"{server}/Patient/p", json={"resourceType": "Patient", "id": "p"})
    policy = FhirAccessPolicy(allowlist=(server,), allow_http=True)
    client = FhirClient(server, None, policy, make_session())
    assert client.get("Patient/p", _deadline())["id"] == "p"


def test_url_within_normalises_case_and_default_ports() -> None:
    assert url_within("https://FHIR.example.org:443/r4/Patient/1", "https://fhir.example.org/r4/")
    assert url_within("https://fhir.example.org/r4", "https://fhir.example.org/r4")
    assert url_within("https://fhir.example.org/any/path", "https://fhir.example.org")
    assert not url_within("https://fhir.example.org/r4%2F..%2Fadmin", "https://fhir.example.org/r4")


@responses.activate
def test_query_that_climbs_out_of_the_base_is_refused() -> None:
    with pytest.raises(FhirUnavailable, match="leaves the FHIR server base"):
        _client().get("Patient/../../admin", _deadline())
    assert len(responses.calls) == 0


@responses.activate
def test_redirect_within_the_server_keeps_the_token() -> None:
    responses.get(f"{BASE}/Patient/p", status=302, headers={"Location": "/r4/Patient/p2"})
    responses.get(f"{BASE}/Patient/p2", json={"resourceType": "Patient", "id": "p2"})
    assert _client().get("Patient/p", _deadline())["id"] == "p2"
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_redirect_to_another_allowlisted_host_drops_the_token() -> None:
    target = "https://other.example.net/fhir/Patient/p"
    responses.get(f"{BASE}/Patient/p", status=307, headers={"Location": target})
    responses.get(target, json={"resourceType": "Patient", "id": "p"})
    assert _client().get("Patient/p", _deadline())["id"] == "p"
    assert responses.calls[1].request.url == target
    assert "Authorization" not in responses.calls[1].request.headers


@pytest.mark.parametrize(
    "target", ["https://evil.example.com/steal", "http://fhir.example.org/r4/P"]
)
@responses.activate
def test_redirect_to_a_refused_server_is_not_followed(target: str) -> None:
    responses.get(f"{BASE}/Patient/p", status=301, headers={"Location": target})
    responses.get(target, json={"resourceType": "Patient", "id": "p"})
    with pytest.raises(FhirUnavailable, match="redirected"):
        _client().get("Patient/p", _deadline())
    assert [c.request.url for c in responses.calls] == [f"{BASE}/Patient/p"]


@responses.activate
def test_redirect_loop_is_cut() -> None:
    responses.get(f"{BASE}/Patient/p", status=302, headers={"Location": f"{BASE}/Patient/p"})
    with pytest.raises(FhirUnavailable, match="too many"):
        _client().get("Patient/p", _deadline())


@responses.activate
def test_requests_itself_strips_authorization_on_cross_host_redirects() -> None:
    """What make_session relies on if a caller ever follows redirects with requests."""
    responses.get(f"{BASE}/x", status=302, headers={"Location": "https://evil.example.com/y"})
    responses.get("https://evil.example.com/y", json={})
    make_session().get(f"{BASE}/x", headers={"Authorization": f"Bearer {TOKEN}"})
    assert "Authorization" not in responses.calls[1].request.headers


@responses.activate
def test_session_ignores_netrc_and_keeps_no_cookies(tmp_path, monkeypatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine fhir.example.org login alice password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    responses.get(
        f"{BASE}/Patient/p",
        json={"resourceType": "Patient", "id": "p"},
        headers={"Set-Cookie": "sid=abc; Path=/"},
    )
    client = _client(token=None)
    client.get("Patient/p", _deadline())
    client.get("Patient/p", _deadline())
    for call in responses.calls:
        assert "Authorization" not in call.request.headers
        assert "Cookie" not in call.request.headers


def test_make_session_pools_connections_without_retries() -> None:
    adapter = make_session(pool_size=7).get_adapter("https://fhir.example.org")
    assert adapter.max_retries.total == 0
    assert adapter._pool_maxsize == 7


def test_policy_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        FhirAccessPolicy(allowlist=(BASE,), deadline_s=0)
    with pytest.raises(ValueError):
        FhirAccessPolicy(allowlist=(BASE,), max_pages=0)
