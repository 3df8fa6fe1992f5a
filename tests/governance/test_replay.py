"""rls-cds replay: one threshold changed lists exactly the fixtures whose cards change."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from cds_service.cli import main
from cds_service.config import REPO_ROOT, load_settings
from cds_service.governance.replay import collect_requests, replay
from cds_service.knowledge import load_knowledge, load_knowledge_dir

KNOWLEDGE = REPO_ROOT / "cds_service" / "knowledge"
FIXTURES = REPO_ROOT / "fhir_fixtures"
FERRITIN = re.compile(r"ferritin ([\d.]+) ng/mL")


@pytest.fixture(scope="module")
def lowered(tmp_path_factory) -> Path:
    """The knowledge with the adult iron threshold lowered from 75 to 50 ng/mL (one edit)."""
    target = tmp_path_factory.mktemp("knowledge")
    for path in KNOWLEDGE.glob("*.json"):
        shutil.copy(path, target / path.name)
    params = target / "parameters.json"
    text = params.read_text()
    key = '"ferritin_iron_max": {"value": '
    edited = text.replace(key + "75,", key + "50,")
    assert edited != text
    params.write_text(edited)
    return target


def _qualifying_by_old_threshold_only() -> set[str]:
    """Fixtures whose IV-iron card (old knowledge) rests on a ferritin in (50, 75] ng/mL."""
    result = replay(load_knowledge(), load_knowledge(), collect_requests([FIXTURES]),
                    load_settings())
    assert result.changes == [] and result.errors == []
    from cds_service.governance.replay import _cards, _service
    from cds_service.registry import load_services

    services, names = load_services(load_settings().hooks_dir), set()
    for request in collect_requests([FIXTURES]):
        for rule, card in _cards(load_knowledge(), load_settings(),
                                 _service(services, request), request):
            found = FERRITIN.search(card["summary"])
            if rule == "iv-iron-indicated" and found and 50 < float(found.group(1)) <= 75:
                names.add(request.name)
    return names


def test_threshold_change_lists_exactly_the_changed_fixtures(lowered, tmp_path, capsys):
    html = tmp_path / "replay.html"
    status = main(["replay", "--from", str(KNOWLEDGE), "--to", str(lowered), "--json",
                   "--html", str(html)])
    assert status == 1
    report = json.loads(capsys.readouterr().out)
    changed = {c["request"] for c in report["changes"]}
    assert changed == _qualifying_by_old_threshold_only()
    assert len(changed) == 9 and "rls-ferritin-75-boundary-qualifies" in changed
    assert "rls-ferritin-76-tsat-19-qualifies" not in changed  # TSAT, not ferritin, qualifies
    for name in changed:  # IV iron no longer indicated: the first-line alpha-2-delta card instead
        assert sorted((c["rule"], c["change"]) for c in report["changes"]
                      if c["request"] == name) == [
            ("alpha2delta-first-line", "appeared"), ("iv-iron-indicated", "disappeared")]
    assert report["summary"] == {"requests": len(list(FIXTURES.glob("*/request.json"))),
                                 "requests_changed": 9, "appeared": 9, "disappeared": 9,
                                 "changed": 0, "errors": 0}
    page = html.read_text()
    assert page.count('<tr class="disappeared">') == 9 and "9 of " in page


def test_identical_knowledge_exits_0(lowered, capsys):
    some = [str(FIXTURES / "rls-ferritin-75-boundary-qualifies"),
            str(FIXTURES / "rls-ferritin-90-band-orders-fcm" / "request.json")]
    assert main(["replay", "--from", str(lowered), "--to", str(lowered), *some]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == ("0 of 2 request(s) changed: 0 card(s) appeared, 0 disappeared, "
                       "0 changed; 0 error(s)")


def test_git_revision_and_changed_fields(lowered, capsys):
    one = [str(FIXTURES / "rls-ferritin-75-boundary-qualifies")]
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert main(["replay", "--from", "HEAD", "--to", str(KNOWLEDGE), *one]) == 0
    capsys.readouterr()
    # a text-only edit: the same card, its summary changed
    recs = lowered.parent / "text-edit"
    shutil.copytree(KNOWLEDGE, recs)
    path = recs / "recommendations.json"
    path.write_text(path.read_text().replace("is the preferred iron treatment",
                                             "is the iron treatment of choice", 1))
    assert load_knowledge_dir(recs).version == load_knowledge().version
    assert main(["replay", "--from", str(KNOWLEDGE), "--to", str(recs), *one]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "~ rls-ferritin-75-boundary-qualifies  iv-iron-indicated  changed: summary"
    assert lines[2].startswith("    summary: 'RLS with low iron stores (ferritin 75 ng/mL): IV "
                               "ferric carboxymaltose is the preferred")


def test_bad_source_exits_2(capsys):
    assert main(["replay", "--from", "no-such-rev-xyz", "--to", str(KNOWLEDGE)]) == 2
    assert "is neither a directory nor a git revision" in capsys.readouterr().err
