"""bench.callgrind drives the same WSGI call valgrind counts; its totals are read exactly."""

from __future__ import annotations

import json
import math
from xml.etree import ElementTree

import pytest

from bench.callgrind import _count, build, growth_calls, growth_rows
from bench.callgrind_plot import callgrind_svg
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


def test_growth_slopes_are_log_log_from_the_previous_size():
    # service = floor + 1,000 per Observation: its own work grows linearly (slope 1.0).
    sizes = (10, 100, 1_000)
    by = {}
    for n in sizes:
        by[("floor", n)] = 500_000 + 3_000 * n
        by[("service", n)] = by[("floor", n)] + 1_000 * n
    rows = growth_rows(by, sizes)
    assert [r["observations"] for r in rows] == [10, 100, 1_000]
    assert "own_slope" not in rows[0]
    assert [r["own_slope"] for r in rows[1:]] == [1.0, 1.0]
    assert rows[2]["service_instructions"] == 4_500_000
    assert rows[2]["ratio"] == round(4_500_000 / 3_500_000, 3)
    # quadratic own work shows as slope 2
    by[("service", 1_000)] = by[("floor", 1_000)] + 1_000 * 100 * 100
    assert growth_rows(by, sizes)[2]["own_slope"] == 2.0


def test_no_own_slope_once_the_service_costs_less_than_the_floor():
    sizes = (1_000, 10_000)
    by = {("floor", 1_000): 33_000_000, ("service", 1_000): 33_500_000,
          ("floor", 10_000): 334_000_000, ("service", 10_000): 333_000_000}
    last = growth_rows(by, sizes)[1]
    assert "own_slope" not in last
    assert last["service_slope"] == round(math.log(333 / 33.5) / math.log(10), 3)


def test_large_bodies_are_counted_on_fewer_calls():
    assert growth_calls(50) == (5, 50)
    assert growth_calls(1_000) == (2, 10)
    assert growth_calls(10_000) == (1, 3)


def test_the_plot_is_svg_with_each_hooks_ratio_and_the_growth_panel():
    result = {
        "commit": "abc1234",
        "rows": [
            {"hook": "order-select", "service_instructions": 3_100_000,
             "floor_instructions": 2_000_000, "ratio": 1.55},
            {"hook": "patient-view", "service_instructions": 2_500_000,
             "floor_instructions": 2_000_000, "ratio": 1.25},
        ],
    }
    bars_only = ElementTree.fromstring(callgrind_svg(result))
    texts = [t.text for t in bars_only.iter("{http://www.w3.org/2000/svg}text")]
    assert {"1.55x", "1.25x", "order-select", "patient-view", "commit abc1234"} <= set(texts)
    assert bars_only.get("width") == "400"
    sizes = (10, 100)
    by = {("floor", 10): 1e6, ("service", 10): 2e6, ("floor", 100): 3e6, ("service", 100): 5e6}
    result["growth"] = {"hook": "patient-view", "rows": growth_rows(by, sizes)}
    both = ElementTree.fromstring(callgrind_svg(result))
    assert both.get("width") == "800"
    assert any("log-log" in (t.text or "") for t in both.iter("{http://www.w3.org/2000/svg}text"))
