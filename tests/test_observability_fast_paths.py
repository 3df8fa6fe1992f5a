"""The access line's timestamp and the direct metric writers give what the general paths give."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram

from cds_service.observability.access_log import utc_stamp
from cds_service.observability.metrics import incrementer, observer


def _iso(ns: int) -> str:
    stamp = datetime.fromtimestamp(ns // 1_000 / 1_000_000, UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_the_stamp_is_what_isoformat_writes_across_seconds_and_in_repeats():
    base = 1_796_000_000 * 1_000_000_000  # a second in 2026
    for ns in (
        base, base + 1, base + 999_999, base + 1_000_000, base + 999_999_999,
        base + 1_000_000_000, base + 1_500_000_000, base, base + 86_399_999_999_999,
        0, 951_782_400_123_456_789,  # the epoch; 2000-02-29 (a leap day)
    ):
        assert utc_stamp(ns) == _iso(ns), ns
        assert utc_stamp(ns) == _iso(ns), ns  # the second's text, reused


def _samples(registry: CollectorRegistry) -> list[tuple[str, list[tuple[str, str]], float]]:
    return sorted(
        (s.name, sorted(s.labels.items()), s.value)
        for metric in registry.collect() for s in metric.samples
        if not s.name.endswith("_created")
    )


def test_direct_writers_record_what_inc_and_observe_record():
    amounts = [0.0, 0.004, 0.005, 0.0051, 0.1, 2.5, 9.99, 10.0, 11.0, math.inf, math.nan]
    registries = []
    for direct in (False, True):
        registry = CollectorRegistry()
        counter = Counter("c", "c", ["service"], registry=registry)
        histogram = Histogram("h", "h", ["service"], registry=registry,
                              buckets=(0.005, 0.01, 0.1, 2.5, 10.0))
        inc = incrementer(counter.labels("a")) if direct else counter.labels("a").inc
        observe = observer(histogram.labels("a")) if direct else histogram.labels("a").observe
        for amount in amounts:
            inc(1)
            observe(amount)
        registries.append(registry)
    plain, direct = (_samples(r) for r in registries)
    assert [(n, labels) for n, labels, _ in direct] == [(n, labels) for n, labels, _ in plain]
    for (_, _, a), (_, _, b) in zip(plain, direct, strict=True):
        assert a == b or (math.isnan(a) and math.isnan(b))
