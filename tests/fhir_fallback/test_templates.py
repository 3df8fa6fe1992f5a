"""Prefetch template substitution ([P1])."""

from __future__ import annotations

import pytest

from cds_service.fhir.templates import TemplateError, substitute, user_resource_id

from .prefetch_templates import TEMPLATES

CONTEXT = {"userId": "Practitioner/doc-1", "patientId": "rls-a", "encounterId": "enc-9"}


def test_context_tokens_are_replaced() -> None:
    assert substitute("Patient/{{context.patientId}}", CONTEXT) == "Patient/rls-a"
    assert substitute("Encounter?_id={{ context.encounterId }}", CONTEXT) == "Encounter?_id=enc-9"


def test_every_service_template_substitutes_and_keeps_its_query_syntax() -> None:
    for key, template in TEMPLATES.items():
        query = substitute(template, CONTEXT)
        assert "{{" not in query and "rls-a" in query, key
        assert query == template.replace("{{context.patientId}}", "rls-a")


def test_values_are_url_encoded_so_they_cannot_inject_parameters() -> None:
    context = {"patientId": "a&_include=*/b c", "userId": "Practitioner/x"}
    assert substitute("Condition?patient={{context.patientId}}", context) == (
        "Condition?patient=a%26_include%3D%2A%2Fb%20c"
    )


def test_typed_reference_keeps_its_slash() -> None:
    assert substitute("{{context.userId}}", CONTEXT) == "Practitioner/doc-1"


@pytest.mark.parametrize("value", [".", ".."])
def test_dot_segments_are_refused(value: str) -> None:
    with pytest.raises(TemplateError):
        substitute("Patient/{{context.patientId}}", {"patientId": value})


def test_primitive_non_string_values() -> None:
    context = {"count": 3, "flag": True}
    assert substitute("X?a={{context.count}}&b={{context.flag}}", context) == "X?a=3&b=true"


@pytest.mark.parametrize(
    "context",
    [{}, {"patientId": None}, {"patientId": ""}, {"patientId": {"id": "x"}}, {"patientId": ["x"]}],
)
def test_missing_empty_or_structured_context_field_raises(context: dict) -> None:
    with pytest.raises(TemplateError, match="patientId"):
        substitute("Patient/{{context.patientId}}", context)


def test_nested_context_paths_are_not_tokens() -> None:
    with pytest.raises(TemplateError, match="top-level"):
        substitute("X?a={{context.draftOrders.id}}", {"draftOrders": {"id": "1"}})


@pytest.mark.parametrize(
    ("token", "user", "expected"),
    [
        ("userPractitionerId", "Practitioner/abc", "abc"),
        ("userPractitionerRoleId", "PractitionerRole/r1", "r1"),
        ("userPatientId", "Patient/p1", "p1"),
        ("userRelatedPersonId", "RelatedPerson/rp1", "rp1"),
        ("userPractitionerId", "https://ehr.example.org/fhir/Practitioner/abc", "abc"),
        ("userPractitionerId", "Practitioner/abc/_history/3", "abc"),
    ],
)
def test_user_tokens(token: str, user: str, expected: str) -> None:
    template = "X?performer={{" + token + "}}"
    assert substitute(template, {"userId": user}) == f"X?performer={expected}"


@pytest.mark.parametrize("user", ["PractitionerRole/abc", "Patient/abc", "abc", None, 7])
def test_user_token_for_a_user_of_another_type_raises(user: object) -> None:
    with pytest.raises(TemplateError, match="userPractitionerId"):
        substitute("X?performer={{userPractitionerId}}", {"userId": user})


def test_user_resource_id_rejects_invalid_ids() -> None:
    assert user_resource_id({"userId": "Practitioner/a b"}, "Practitioner") is None
    assert user_resource_id({"userId": "Practitioner/"}, "Practitioner") is None


@pytest.mark.parametrize("template", ["X?a={{foo}}", "X?a={{}}", "X?a={{context.patientId}", "{{x"])
def test_unknown_tokens_and_broken_braces_raise(template: str) -> None:
    with pytest.raises(TemplateError):
        substitute(template, CONTEXT)


def test_template_without_tokens_is_unchanged() -> None:
    assert substitute("Observation?code=http://loinc.org|2276-4", {}) == (
        "Observation?code=http://loinc.org|2276-4"
    )
