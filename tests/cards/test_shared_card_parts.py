"""Cards share their rule's prepared parts (source, override reasons, suggestion templates):
no output profile may change them, so every later card reads as the first did."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

from cds_service.app import create_app
from cds_service.cards.profiles import PROFILES, Profiles
from cds_service.cards.render import RulePlan, rule_plan
from cds_service.hook_call import call_service
from tests.scenario_support import load_scenarios

SITE_CODES = {
    "epic": {
        "preference_list": {"2276-4": "PL-1", "gabapentin": "PL-2"},
        "order_sets": {"iron-studies": "OS-1"},
    }
}


def _parts(plan: RulePlan) -> Any:
    suggestions = [(s.label, s.creates, s.deletes) for s in plan.suggestions]
    return copy.deepcopy((plan.source, plan.override_reasons, suggestions))


def test_no_profile_changes_the_parts_cards_share() -> None:
    runtime = create_app({"require_auth": False}).extensions["rls_cds"]
    knowledge = runtime.knowledge
    profiles = Profiles.build(knowledge, json.dumps(SITE_CODES))
    responses = []
    for sc in load_scenarios():
        if sc.known_issue or sc.service not in runtime.services:
            continue
        service = runtime.services[sc.service]
        settings = replace(runtime.settings, clock=lambda now=sc.now: now)
        try:
            outcome = call_service(knowledge, settings, service, copy.deepcopy(sc.request))
        except Exception:  # a scenario answered with an error: no cards to share
            continue
        responses.append((outcome.response, service.hook))
    assert any(r["cards"] for r, _ in responses)
    for response, hook in responses:
        for profile in PROFILES:
            profiles.render(response, profile, hook)
    for rule_id in knowledge.rules:
        assert _parts(rule_plan(knowledge, rule_id)) == _parts(RulePlan(knowledge, rule_id))
