"""bench.callgrind drives the same WSGI call valgrind counts; its totals are read exactly."""

from __future__ import annotations

import json

import pytest

from bench.callgrind import _count, build
from bench.inprocess import quiet


@pytest.mark.parametrize("hook", ["order-select", "order-sign", "patient-view"])
def test_the_counted_call_answers_each_hook_with_the_services_cards(hook):
    with quiet():
        service = json.loads(build("service", hook, 50)())
        floor = json.loads(build("floor", hook, 50)())
    rules = [card["source"]["topic"]["code"] for card in service["cards"]]
    if hook == "patient-view":
        assert rules == ["iv-iron-indicated"]
    else:
        assert rules == ["dopamine-agonist-against", "iv-iron-indicated", "alpha2delta-first-line"]
    assert [card["indicator"] for card in floor["cards"]] == ["warning"]


def test_instruction_total_is_read_from_the_callgrind_file(tmp_path):
    out = tmp_path / "callgrind.out"
    out.write_text("events: Ir\nfl=x\nfn=y\n0 5\nsummary: 123456\ntotals: 123456\n")
    assert _count(out) == 123456
    out.write_text("events: Ir\n")
    with pytest.raises(RuntimeError, match="no instruction total"):
        _count(out)
