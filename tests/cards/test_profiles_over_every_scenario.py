"""Every fixture scenario's answer through every profile: still a valid CDS Hooks response, and
nothing the client documents it would reject or ignore (Epic's labs need the site's codes)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from cds_service.cards.profiles import PROFILES, Profiles
from tests.scenario_support import Scenario, answer, knowledge, load_scenarios, response_validator

SCENARIOS = [s for s in load_scenarios() if not s.known_issue]
LAB_CODES = {"2276-4": "PL-1", "2498-4": "PL-2", "2500-7": "PL-3", "2502-3": "PL-4"}
RXNORM = ("http://www.nlm.nih.gov/research/umls/rxnorm", "urn:oid:2.16.840.1.113883.6.88")


@cache
def profiles() -> Profiles:
    return Profiles.build(knowledge(), json.dumps({"epic": {"preference_list": LAB_CODES}}))


@cache
def profiles_without_site_codes() -> Profiles:
    return Profiles.build(knowledge())


def _actions(response: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [s["actions"] for c in response["cards"] for s in c.get("suggestions", [])]


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.name)
def test_profile_output_is_valid_and_lints_clean(sc: Scenario, profile: str) -> None:
    spec = answer(sc.name).body
    out = profiles().render(spec, profile)
    assert list(response_validator().iter_errors(out)) == []
    assert profiles().lint(out, profile) == []
    assert [c["uuid"] for c in out["cards"]] == [c["uuid"] for c in spec["cards"]]
    for actions in _actions(out):
        types = [a["type"] for a in actions]
        assert types == sorted(types, key=lambda t: t != "create")
        for action in actions:
            concept = action.get("resource", {}).get("medicationCodeableConcept")
            if concept is not None:
                assert any(c["system"] in RXNORM for c in concept["coding"]), concept
    if profile == "epic":
        assert all(len(actions) == 1 for actions in _actions(out))
        assert all(re.fullmatch(r"[A-Za-z0-9]+", c["source"]["topic"]["code"])
                   for c in out["cards"])


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.name)
def test_without_site_codes_epic_is_told_only_about_the_labs(sc: Scenario) -> None:
    out = profiles_without_site_codes().render(answer(sc.name).body, "epic")
    found = {f.constraint for f in profiles_without_site_codes().lint(out, "epic")}
    labs = any(a["resource"]["resourceType"] == "ServiceRequest"
               for actions in _actions(out) for a in actions if a["type"] == "create")
    assert found == ({"epic-service-create-code-system"} if labs else set())
