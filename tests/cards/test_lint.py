"""The response linter: the constraint table, what it finds on real answers, the CLI and the
console endpoint."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from cds_service.cards.profiles import PROFILES, lint
from cds_service.cards.profiles.constraints import constraint_table, parse_table, resolve
from cds_service.cli import main
from tests.cards.support import FIXTURES, LOW_FERRITIN, answer
from tests.console.support import build_app

EPIC_URL = "https://fhir.epic.com/Documentation?docId=cds-hooks"


def test_the_table_has_a_quote_and_a_source_for_every_constraint() -> None:
    table = constraint_table()
    assert Counter(c.profile for c in table.constraints) == {"epic": 15, "oracle": 6, "sandbox": 4}
    for c in table.constraints:
        assert c.profile in PROFILES and c.quote and c.section and c.effect, c.id
        assert table.sources[c.source].url.startswith("https://"), c.id
    assert table.sources["epic-cds-hooks-tutorial"].url == EPIC_URL


def test_a_malformed_row_is_refused_by_name() -> None:
    data = json.loads(json.dumps({"version": "1", "sources": {}, "constraints": [
        {"id": "x", "profile": "epic", "path": "cards[]", "rule": "maybe", "effect": "e",
         "quote": "q", "source": "s", "section": "s"}]}))
    with pytest.raises(ValueError, match="constraint 'x': unknown rule 'maybe'"):
        parse_table(data)


def test_paths_name_every_item_one_item_and_escaped_keys() -> None:
    doc = {"cards": [{"a": [1, 2]}, {"a": [3]}, {"b": 0}], "x": {"k.y": 5}}
    assert list(resolve(doc, "cards[].a[]")) == [
        ("cards[0].a[0]", 1), ("cards[0].a[1]", 2), ("cards[1].a[0]", 3)]
    assert list(resolve(doc, "cards[].a[1]")) == [("cards[0].a[1]", 2)]
    assert list(resolve(doc, "x.k\\.y")) == [("x.k.y", 5)]
    assert list(resolve(doc, "cards[].missing")) == []


def test_epic_linter_lists_what_epic_would_reject_or_ignore_in_the_spec_answer(
    tmp_path: Path,
) -> None:
    findings = lint(answer(tmp_path, LOW_FERRITIN), "epic")
    assert Counter(f.constraint for f in findings) == {
        "epic-selection-behavior": 3,  # one per card with suggestions
        "epic-one-action-per-suggestion": 3,  # the three "Replace with …"
        "epic-topic-code-alphanumeric": 3,
        "epic-create-order-details-ignored": 7,  # dosage and reason on every create
        "epic-medication-create-code-system": 7,  # RxNorm URL, not Epic's OID
    }
    first = findings[0]
    assert (first.path, first.problem, first.effect) == (
        "cards[0].selectionBehavior", "'at-most-one' is not one of ['any']", "unsupported")
    assert first.quote == 'Only the value "any" is currently supported.'
    assert (first.section, first.url) == ("Card Attributes", EPIC_URL)
    assert [f.path for f in findings if f.constraint == "epic-one-action-per-suggestion"] == [
        f"cards[0].suggestions[{i}].actions" for i in range(3)]


@pytest.mark.parametrize("profile", ["spec", "oracle", "sandbox"])
def test_the_spec_answer_breaks_nothing_other_clients_document(
    tmp_path: Path, profile: str
) -> None:
    assert lint(answer(tmp_path, LOW_FERRITIN), profile) == []


def test_sandbox_linter_finds_a_delete_before_a_create_and_an_uncoded_drug() -> None:
    create = {"type": "create", "description": "d", "resource": {
        "resourceType": "MedicationRequest", "medicationCodeableConcept": {"text": "x"}}}
    delete = {"type": "delete", "description": "d", "resourceId": "MedicationRequest/1"}
    doc = {"cards": [{"suggestions": [{"label": "l", "actions": [delete, create]}]}]}
    assert [(f.constraint, f.path) for f in lint(doc, "sandbox")] == [
        ("sandbox-create-before-delete", "cards[0].suggestions[0].actions"),
        ("sandbox-medication-text-and-code",
         "cards[0].suggestions[0].actions[1].resource.medicationCodeableConcept.coding[0].code"),
    ]


def test_oracle_linter_flags_discovery_of_hooks_oracle_never_calls() -> None:
    document = {"services": [{"id": "a", "hook": "order-sign"},
                             {"id": "b", "hook": "patient-view"}]}
    (finding,) = lint(document, "oracle")
    assert (finding.constraint, finding.path, finding.effect) == (
        "oracle-patient-view-only", "services[0].hook", "never called")


def _write(tmp_path: Path, tmp_name: str, document: object) -> str:
    path = tmp_path / tmp_name
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_cli_lint_exits_1_and_lists_each_finding_with_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "spec.json", answer(tmp_path, LOW_FERRITIN))
    capsys.readouterr()
    assert main(["lint-response", "--profile", "epic", path]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        "cards[0].selectionBehavior: 'at-most-one' is not one of ['any'] "
        "[epic-selection-behavior; unsupported]",
        '    "Only the value "any" is currently supported."',
        f"    Epic on FHIR, CDS Hooks Tutorial, Card Attributes <{EPIC_URL}>",
    ]
    assert out[-1] == "23 finding(s) for profile epic"


def test_cli_lint_exits_0_on_the_epic_answer_and_prints_json_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "epic.json", answer(tmp_path, LOW_FERRITIN, ehr_profile="epic"))
    capsys.readouterr()
    assert main(["lint-response", "--profile", "epic", path]) == 0
    assert capsys.readouterr().out == "0 finding(s) for profile epic\n"
    spec = _write(tmp_path, "spec.json", answer(tmp_path / "s", LOW_FERRITIN))
    capsys.readouterr()
    assert main(["lint-response", "--profile", "epic", "--json", spec]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert len(findings) == 23 and set(findings[0]) == {
        "constraint", "path", "problem", "effect", "quote", "section", "source", "url"}


def test_cli_lint_exits_2_on_unreadable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint-response", "--profile", "epic", str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    assert main(["lint-response", "--profile", "epic", str(bad)]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["lint-response", "--profile", "cerner", str(bad)])
    assert exit_info.value.code == 2


def test_console_lints_the_shown_response_per_profile(tmp_path: Path) -> None:
    client = build_app(True, data_dir=tmp_path / "console").test_client()
    page = client.get("/console").get_data(as_text=True)
    assert '<select id="lint-profile">' in page
    assert all(f'<option value="{p}"' in page for p in PROFILES)
    shown = answer(tmp_path, LOW_FERRITIN)
    response = client.post("/console/lint", json={"profile": "epic", "response": shown})
    assert response.status_code == 200
    body = response.get_json()
    assert body["profile"] == "epic" and len(body["findings"]) == 23
    assert body["findings"][0]["constraint"] == "epic-selection-behavior"
    again = client.post("/console/lint", json={"profile": "oracle", "response": shown})
    assert again.get_json() == {"profile": "oracle", "findings": []}


def test_console_lint_refuses_an_unknown_profile_with_a_json_400(tmp_path: Path) -> None:
    client = build_app(True, data_dir=tmp_path).test_client()
    response = client.post("/console/lint", json={"profile": "cerner", "response": {}})
    assert response.status_code == 400
    assert response.get_json() == {"resourceType": "OperationOutcome", "issue": [{
        "severity": "error", "code": "invalid", "expression": ["profile"],
        "diagnostics": "profile must be one of ['epic', 'oracle', 'sandbox', 'spec']"}]}


def test_cli_evaluate_renders_through_the_chosen_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    request = str(FIXTURES / LOW_FERRITIN / "request.json")
    assert main(["evaluate", request, "--now", "2026-06-15T09:00:00Z", "--profile", "epic"]) == 0
    response = json.loads(capsys.readouterr().out)
    assert [c["source"]["topic"]["code"] for c in response["cards"]] == [
        "dopamineagonistagainst", "ivironindicated", "alpha2deltafirstline"]
    assert lint(response, "epic") == []
