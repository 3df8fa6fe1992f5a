"""The clinical review: every rule with its recommendation, what it reads, and the fixture
scenarios that make it fire, each run through the real service path with the fixture's clock."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cds_service.console.audience import SuggestionView, suggestion_views
from cds_service.console.rule_uses import Uses, resolve
from cds_service.console.scenarios import Scenario, list_scenarios
from cds_service.errors import CdsError
from cds_service.hook_call import call_service
from cds_service.registry import Service


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario answered by the service: the cards it returned, or why it could not run."""

    scenario: Scenario
    service_id: str | None
    cards: tuple[tuple[str, dict[str, Any]], ...] = ()  # (rule id, card)
    error: str | None = None

    @property
    def actual(self) -> list[tuple[str, str]]:
        return sorted((rule, card.get("indicator", "")) for rule, card in self.cards)

    @property
    def expected(self) -> list[tuple[str, str]]:
        return sorted((c["rule"], c["indicator"]) for c in self.scenario.expected_cards)

    @property
    def matches_expected(self) -> bool:
        return self.error is None and self.actual == self.expected


@dataclass(frozen=True)
class RuleReview:
    """One rule as the committee reviews it."""

    id: str
    rule: dict[str, Any]
    citations: list[tuple[str, dict[str, str]]]
    uses: Uses
    triggers: list[tuple[ScenarioRun, dict[str, Any]]] = field(default_factory=list)
    suggestions: list[SuggestionView] = field(default_factory=list)


@dataclass(frozen=True)
class Review:
    version: str
    generated: datetime
    rules: list[RuleReview]
    runs: list[ScenarioRun]
    override_reasons: dict[str, str]
    medication_templates: dict[str, dict[str, Any]]
    citations: dict[str, dict[str, str]]
    ingredient_names: dict[str, str] = field(default_factory=dict)  # id -> display
    plausible: dict[str, str] = field(default_factory=dict)  # analyte -> "1 to 100 %"


def _service_for(runtime: Any, scenario: Scenario, body: object) -> Service | None:
    services: dict[str, Service] = runtime.services
    if scenario.service:
        return services.get(scenario.service)
    hook = body.get("hook") if isinstance(body, dict) else None
    matching = [s for s in services.values() if s.hook == hook]
    return matching[0] if len(matching) == 1 else None


def run_scenario(runtime: Any, scenario: Scenario) -> ScenarioRun:
    """Answer the scenario's request exactly as the endpoint would at the scenario's ``now``."""
    try:
        body = scenario.request()
    except (OSError, ValueError) as exc:
        return ScenarioRun(scenario, None, error=f"request.json is unreadable: {exc}")
    service = _service_for(runtime, scenario, body)
    if service is None:
        wanted = scenario.service or "(none named; no single service answers this hook)"
        return ScenarioRun(scenario, None, error=f"no such service: {wanted}")
    settings = runtime.settings
    now = scenario.clock_time()
    if now is not None:
        settings = dataclasses.replace(settings, clock=lambda: now)
    try:
        outcome = call_service(runtime.knowledge, settings, service, body)
    except CdsError as exc:
        return ScenarioRun(scenario, service.id, error=f"HTTP {exc.status}: {exc.message}")
    cards = tuple(zip(outcome.rule_ids, outcome.response["cards"], strict=True))
    return ScenarioRun(scenario, service.id, cards)


def build_review(runtime: Any, fixtures_dir: Path) -> Review:
    """Everything the review page shows, computed afresh from the knowledge and the fixtures."""
    knowledge = runtime.knowledge
    recommendations = knowledge.raw["recommendations"]
    runs = [run_scenario(runtime, s) for s in list_scenarios(fixtures_dir)]
    rules = []
    for rule_id, rule in knowledge.rules.items():
        rules.append(
            RuleReview(
                id=rule_id,
                rule=rule,
                citations=[(c, knowledge.citations[c]) for c in rule.get("citations", [])],
                uses=resolve(knowledge, rule_id),
                triggers=[(run, card) for run in runs for rid, card in run.cards if rid == rule_id],
                suggestions=suggestion_views(knowledge, rule),
            )
        )
    return Review(
        version=knowledge.version,
        generated=runtime.settings.clock(),
        rules=rules,
        runs=runs,
        override_reasons=recommendations["override_reasons"],
        medication_templates=recommendations["medication_templates"],
        citations=knowledge.citations,
        ingredient_names={i.id: i.display for i in knowledge.ingredients},
        plausible={aid: r.describe() for aid, r in knowledge.plausible.items()},
    )
