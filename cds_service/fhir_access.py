"""The FHIR fallback as the hook path sees it: settings -> policy, one session and pool,
failures -> 412, timings -> metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cds_service.config import Settings
from cds_service.errors import PrefetchUnavailable
from cds_service.fhir.client import FhirAccessPolicy, FhirUnavailable
from cds_service.hook_call import FetchMissing
from cds_service.observability import observe_fhir_fallback

REASONS = (  # FhirUnavailable text -> a short, bounded metric label
    ("timed out", "timeout"),
    ("answered 401", "unauthorized"),
    ("answered 403", "forbidden"),
    ("answered 5", "http_5xx"),
    ("answered", "http_error"),
    ("connect", "connection"),
    ("allowlist", "not_allowed"),
    ("https", "not_allowed"),
    ("no fhirServer", "no_server"),
)


def reason_label(exc: FhirUnavailable) -> str:
    text = str(exc.reason)
    return next((label for fragment, label in REASONS if fragment in text), "other")


def fetcher(settings: Settings) -> FetchMissing:
    """A fetch_missing callable sharing one session and one thread pool for the process."""
    policy = FhirAccessPolicy(
        allowlist=settings.fhir_allowlist,
        allow_http=settings.fhir_allow_http,
        deadline_s=settings.fhir_deadline_s,
        max_pages=settings.fhir_max_pages,
        max_workers=settings.fhir_max_workers,
    )
    shared: list[Any] = []  # [session, executor], made by the first fetch of this process
    lock = threading.Lock()

    def fetch_missing(
        templates: Mapping[str, str], body: Mapping[str, Any], prefetch: Mapping[str, Any]
    ) -> dict[str, Any]:
        # The fallback (and requests with it) is imported only where a fetch is needed:
        # most sites send prefetch, and every worker would otherwise carry it (about 5 MB).
        from cds_service.fhir.fallback import fill_missing_prefetch, make_session

        with lock:
            if not shared:
                shared.append(make_session(pool_size=max(10, policy.max_workers)))
                shared.append(
                    ThreadPoolExecutor(max_workers=policy.max_workers, thread_name_prefix="fhir")
                )
        session, executor = shared
        started = time.perf_counter()
        try:
            filled = fill_missing_prefetch(
                templates, body, prefetch, policy=policy, session=session, executor=executor
            )
        except FhirUnavailable as exc:
            observe_fhir_fallback(time.perf_counter() - started, False, reason_label(exc))
            what = f"prefetch.{exc.key}" if exc.key else "fhirServer"
            raise PrefetchUnavailable(
                f"{what} is missing and could not be fetched: {exc.reason}", what
            ) from None
        observe_fhir_fallback(time.perf_counter() - started, True, None)
        return filled

    return fetch_missing
