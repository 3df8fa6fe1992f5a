"""The benchmark harness works: in-process part on tiny sizes, structure only (nothing is timed)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from bench import load, run
from bench.floor_app import app as floor_app
from bench.requests import LOAD_REQUESTS, NOW, PATIENT_ID, encoded, request_body


def test_request_bodies_are_deterministic_and_complete():
    assert encoded("order-select", 50) == encoded("order-select", 50)
    body = request_body("order-select", 50)
    assert set(body["prefetch"]) == {
        "patient",
        "conditions",
        "ironStudies",
        "medications",
        "medicationHistory",
        "ivIronAdministrations",
    }
    observations = [e["resource"] for e in body["prefetch"]["ironStudies"]["entry"]]
    assert len(observations) == 50
    assert {o["code"]["coding"][0]["code"] for o in observations} == {"2276-4", "2502-3"}
    assert all(o["effectiveDateTime"] < NOW.isoformat() for o in observations)
    assert body["context"]["patientId"] == PATIENT_ID
    assert body["context"]["selections"] == ["MedicationRequest/bench-draft-pramipexole"]


def test_in_process_run_writes_results_and_plot(tmp_path):
    code = run.main(
        [
            "--quick",
            "--no-load",
            "--sizes",
            "10,20",
            "--cold-runs",
            "1",
            "--profile-runs",
            "2",
            "--output",
            str(tmp_path),
        ]
    )
    assert code == 0
    results = json.loads((tmp_path / "latest.json").read_text())
    assert set(results["requests"]) == set(LOAD_REQUESTS)
    assert all(r["cards"] for r in results["requests"].values())
    assert [p["observations"] for p in results["scaling"]] == [10, 20]
    for point in results["scaling"]:
        assert {"evaluate", "http", "json_parse"} <= set(point)
        assert point["evaluate"]["runs"] >= 1
    assert "10->20" in results["growth"]["slopes"]
    assert results["cold_start"]["runs"] and results["cold_start"]["median_wall_s"] > 0
    assert len(results["profiles"]) == 2
    assert results["profiles"][0]["top_own_time"]
    assert "cold_start_s" in results["targets"]
    svg = ET.parse(tmp_path / "eval-scaling.svg").getroot()
    assert svg.tag.endswith("svg")


def test_floor_app_answers_one_card():
    response = floor_app.test_client().post(
        "/cds-services/rls-order-select",
        data=encoded("order-select", 10),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert len(response.get_json()["cards"]) == 1


def test_ratios_and_recommendation_from_rows():
    def row(app, server, json_name, rps, p99):
        return {
            "app": app,
            "server": server,
            "json": json_name,
            "request": run.REALISTIC,
            "rps": rps,
            "requests": 100,
            "errors": {"status": 0, "timeout": 0},
            "latency_ms": {"p50": p99 / 2, "p99": p99},
        }

    rows = [
        row("floor", "gunicorn-sync", "stdlib", 1000.0, 10.0),
        row("service", "gunicorn-sync", "stdlib", 600.0, 20.0),
        row("floor", "granian", "orjson", 2000.0, 30.0),
        row("service", "granian", "orjson", 900.0, 40.0),
        row("floor", "gunicorn-sync", "orjson", 1500.0, 12.0),
        row("service", "gunicorn-sync", "orjson", 700.0, 24.0),
    ]
    run.add_ratios(rows)
    assert rows[1]["ratio_to_floor"] == 0.6
    assert rows[3]["ratio_to_baseline_floor"] == 0.9
    chosen = run.recommend(rows)
    # Only the service's own JSON library counts: its stdlib row (600 rps, p99 20) is ignored.
    assert (chosen["server"], chosen["json"], chosen["meets_p99"], chosen["rps"]) == (
        "gunicorn-sync",
        "orjson",
        True,
        700.0,
    )


def test_load_refuses_anything_but_loopback():
    assert load.check_loopback("http://127.0.0.1:8080/x") == ("127.0.0.1", 8080, "/x")
    for url in ("http://10.0.0.1:80/", "http://example.org:80/", "https://127.0.0.1:1/"):
        with pytest.raises(ValueError):
            load.check_loopback(url)
    assert load.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0


def test_rounds_reduce_to_medians_and_keep_every_round():
    def one(rps, p99, cpu, timeouts=0):
        return {
            "requests": int(rps),
            "duration_s": 1.0,
            "rps": rps,
            "errors": {"status": 0, "timeout": timeouts},
            "latency_ms": {"p50": p99 / 2, "p99": p99},
            "server_cpu_ms_per_request": cpu,
            "loadavg_1m_after": 1.0,
        }

    rounds = [one(900.0, 40.0, 1.2), one(1500.0, 22.0, 1.0, timeouts=1), one(1000.0, 30.0, 1.1)]
    row = run.median_of_rounds(rounds)
    assert row["rps"] == 1000.0
    assert row["latency_ms"] == {"p50": 15.0, "p99": 30.0}
    assert row["server_cpu_ms_per_request"] == 1.1
    assert row["requests"] == 3400 and row["errors"] == {"status": 0, "timeout": 1}
    assert row["rounds"] == rounds


def test_when_no_stack_meets_p99_the_closest_is_recommended():
    def row(app, server, rps, p99):
        return {
            "app": app,
            "server": server,
            "json": "orjson",
            "request": run.REALISTIC,
            "rps": rps,
            "requests": 100,
            "errors": {"status": 0, "timeout": 0},
            "latency_ms": {"p50": p99 / 2, "p99": p99},
        }

    rows = [row("service", "gunicorn-sync", 1000.0, 38.0), row("service", "granian", 1400.0, 45.0)]
    chosen = run.recommend(rows)
    assert (chosen["server"], chosen["meets_p99"]) == ("gunicorn-sync", False)
    assert "closest" in chosen["reason"]
