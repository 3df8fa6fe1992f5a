"""F2 under load: 8 writer threads x 500 items through the blueprint, exact counts after."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask

from cds_service.feedback import FeedbackStore, feedback_blueprint

THREADS, ITEMS_PER_THREAD, BATCH = 8, 500, 10
RULES = ["rls-iron-check", "rls-dopamine-augmentation", "rls-gabapentinoid-first"]
URL = "/cds-services/rls-order-select/feedback"


def test_f2_concurrent_writers_store_every_item_exactly_once(
    store: FeedbackStore, make_item: Callable
) -> None:
    app = Flask(__name__)
    app.register_blueprint(feedback_blueprint(store, lambda: {"rls-order-select"}, lambda: RULES))
    shared = [make_item(RULES[0], "overridden", overrideReason={"userComment": "dup"})] * 5
    per_thread = [
        [
            make_item(RULES[n % 3], "accepted" if n % 2 else "overridden")
            for n in range(ITEMS_PER_THREAD)
        ]
        for _ in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)
    acks: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def writer(items: list[dict]) -> None:
        client = app.test_client()
        barrier.wait()
        for start in range(0, len(items), BATCH):
            batches = [items[start : start + BATCH]]
            if start == ITEMS_PER_THREAD // 2:
                batches.append(shared)  # every thread also sends the same items
            if start % 50 == 0:
                store.record_issued({RULES[0]: 1})  # concurrent upserts of issued counts
            for batch in batches:
                response = client.post(URL, json={"feedback": batch})
                with lock:
                    if response.status_code == 200:
                        acks.append(response.get_json()["stored"])
                    else:
                        errors.append(f"{response.status_code} {response.get_data(as_text=True)}")

    threads = [threading.Thread(target=writer, args=(items,)) for items in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(acks) == THREADS * ITEMS_PER_THREAD + 1
    reports = {report.rule_id: report for report in store.report()}
    expected = {rule: [0, 0] for rule in RULES}
    for n in range(ITEMS_PER_THREAD):
        expected[RULES[n % 3]][0 if n % 2 else 1] += THREADS
    expected[RULES[0]][1] += 1
    actual = {rule: [reports[rule].accepted, reports[rule].overridden] for rule in RULES}
    assert actual == expected
    assert reports[RULES[0]].top_comments == (("dup", 1),)
    assert reports[RULES[0]].issued == THREADS * ITEMS_PER_THREAD // 50
