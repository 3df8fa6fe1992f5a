"""Which profile a call gets: the verified issuer's ``profile``, else Epic's request extensions,
else ``CDS_EHR_PROFILE``; and bad profile settings refuse to start."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskClient

from cds_service.cards.profiles import choose_profile, is_epic_request
from cds_service.config import load_settings
from cds_service.errors import ConfigurationError
from tests.cards.support import LOW_FERRITIN, answer, app_for, fixture

KEY = ec.generate_private_key(ec.SECP384R1())
BASE = "http://localhost"
EPIC_ISS = "https://ehr.example.org/interconnect-prd-oauth/api/FHIR/R4"
ORACLE_ISS = "https://cds-hooks.cerner.com"
PLAIN_ISS = "https://plain.example.org"
EPIC_EXTENSION = {"com.epic.cdshooks.request.bpa-trigger-action": "18",
                  "com.epic.cdshooks.request.fhir-version": "R4"}


def _issuers(tmp_path: Path, **profiles: str | None) -> str:
    jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": "k1"}
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps({"keys": [jwk]}), encoding="utf-8")
    names = {"epic": EPIC_ISS, "oracle": ORACLE_ISS, "plain": PLAIN_ISS}
    return json.dumps({
        names[who]: {"jwks_file": str(keys), **({"profile": p} if p else {})}
        for who, p in profiles.items()
    })


def _headers(iss: str, path: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": iss, "aud": BASE + path, "iat": now, "exp": now + 300,
              "jti": str(uuid.uuid4())}
    token = jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": "k1"})
    return {"Authorization": f"Bearer {token}"}


def _client(tmp_path: Path, **settings: Any) -> FlaskClient:
    _, expected = fixture(LOW_FERRITIN)
    return app_for(tmp_path, expected["now"], **settings).test_client()


def _topics(client: FlaskClient, body: dict[str, Any], iss: str | None = None) -> list[str]:
    path = "/cds-services/rls-order-select"
    headers = _headers(iss, path) if iss else {}
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200
    return [c["source"]["topic"]["code"] for c in response.get_json()["cards"]]


SPEC_TOPICS = ["dopamine-agonist-against", "iv-iron-indicated", "alpha2delta-first-line"]
EPIC_TOPICS = ["dopamineagonistagainst", "ivironindicated", "alpha2deltafirstline"]


def test_the_verified_issuers_profile_wins(tmp_path: Path) -> None:
    issuers = _issuers(tmp_path, epic="epic", oracle="oracle", plain=None)
    client = _client(tmp_path, require_auth=True, trusted_issuers=issuers)
    body, _ = fixture(LOW_FERRITIN)
    assert _topics(client, body, EPIC_ISS) == EPIC_TOPICS
    assert _topics(client, body, PLAIN_ISS) == SPEC_TOPICS  # no profile: the default
    # Oracle's issuer keeps CDS Hooks 1.0 cards even if the body looked like Epic's
    assert _topics(client, {**body, "extension": EPIC_EXTENSION}, ORACLE_ISS) == SPEC_TOPICS
    assert _topics(client, {**body, "extension": EPIC_EXTENSION}, PLAIN_ISS) == EPIC_TOPICS


def test_discovery_for_oracles_issuer_lists_only_patient_view(tmp_path: Path) -> None:
    issuers = _issuers(tmp_path, oracle="oracle", plain=None)
    client = _client(tmp_path, require_auth=True, trusted_issuers=issuers)
    oracle = client.get("/cds-services", headers=_headers(ORACLE_ISS, "/cds-services"))
    assert [s["id"] for s in oracle.get_json()["services"]] == ["rls-patient-view"]
    plain = client.get("/cds-services", headers=_headers(PLAIN_ISS, "/cds-services"))
    assert [s["id"] for s in plain.get_json()["services"]] == [
        "rls-order-select", "rls-order-sign", "rls-patient-view"]


def test_epics_request_extension_selects_epic_without_auth(tmp_path: Path) -> None:
    client = _client(tmp_path)
    body, _ = fixture(LOW_FERRITIN)
    assert _topics(client, body) == SPEC_TOPICS
    assert _topics(client, {**body, "extension": EPIC_EXTENSION}) == EPIC_TOPICS
    other = {**body, "extension": {"com.example.cdshooks.request.x": "1"}}
    assert _topics(client, other) == SPEC_TOPICS


def test_cds_ehr_profile_sets_the_default(tmp_path: Path) -> None:
    assert load_settings(environ={}).ehr_profile == "spec"
    assert load_settings(environ={"CDS_EHR_PROFILE": " Epic "}).ehr_profile == "epic"
    response = answer(tmp_path, LOW_FERRITIN, ehr_profile="epic")
    assert [c["source"]["topic"]["code"] for c in response["cards"]] == EPIC_TOPICS
    client = _client(tmp_path / "oracle", ehr_profile="oracle")
    assert [s["hook"] for s in client.get("/cds-services").get_json()["services"]] == [
        "patient-view"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ehr_profile": "cerner"},
         "CDS_EHR_PROFILE: unknown output profile 'cerner'; known: "
         "['epic', 'oracle', 'sandbox', 'spec']"),
        ({"ehr_site_codes": "{"}, "CDS_EHR_SITE_CODES: not valid JSON (Expecting property name "
                                  "enclosed in double quotes)"),
        ({"ehr_site_codes": '{"epic": {"preference_list": {"ibuprofen": "1"}}}'},
         "CDS_EHR_SITE_CODES.epic.preference_list: unknown key(s) ['ibuprofen']; known: "),
        ({"ehr_site_codes": '{"epic": {"order_sets": {"labs": "1"}}}'},
         "CDS_EHR_SITE_CODES.epic.order_sets: unknown key(s) ['labs']; known: ['iron-studies']"),
        ({"ehr_site_codes": '{"athena": {}}'}, "CDS_EHR_SITE_CODES.athena: unknown profile"),
    ],
)
def test_bad_profile_settings_refuse_to_start(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError) as error:
        app_for(tmp_path, "2026-06-15T09:00:00Z", **settings)
    assert str(error.value).startswith(message)


def test_an_unknown_issuer_profile_refuses_to_start(tmp_path: Path) -> None:
    issuers = _issuers(tmp_path, epic="athena")
    with pytest.raises(ConfigurationError, match=(
        f"trusted issuer '{EPIC_ISS}': unknown output profile 'athena'")):
        app_for(tmp_path, "2026-06-15T09:00:00Z", require_auth=True, trusted_issuers=issuers)


def test_site_codes_may_come_from_a_file(tmp_path: Path) -> None:
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"epic": {"preference_list": {"pregabalin": "PL-9"}}}), "utf-8")
    response = answer(tmp_path, LOW_FERRITIN, ehr_profile="epic", ehr_site_codes=str(site))
    pregabalin = response["cards"][2]["suggestions"][2]["actions"][0]["resource"]
    assert pregabalin["medicationCodeableConcept"]["coding"][0] == {
        "system": "urn:com.epic.cdshooks.action.code.system.preference-list-item",
        "code": "PL-9"}


def test_choose_profile_order() -> None:
    epic_body = {"extension": EPIC_EXTENSION}
    assert choose_profile("oracle", epic_body, "spec") == "oracle"
    assert choose_profile(None, epic_body, "spec") == "epic"
    assert choose_profile(None, {"extension": "x"}, "sandbox") == "sandbox"
    assert choose_profile(None, ["not", "a", "request"], "spec") == "spec"
    assert is_epic_request({"extension": {"internal.epic.cdshooks.request.epic-emp-id": "1"}}) \
        is False


def test_the_sandbox_preset_gets_the_sandbox_profile() -> None:
    from cds_service.auth import sandbox_preset

    assert sandbox_preset()["https://sandbox.cds-hooks.org"].profile == "sandbox"
