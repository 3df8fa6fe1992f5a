"""Fill absent or OperationOutcome prefetch keys from the request's fhirServer ([P3], [P4])."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_EXCEPTION, Executor, Future, ThreadPoolExecutor, wait
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from .client import FhirAccessPolicy, FhirClient, FhirUnavailable
from .prefetch import missing_keys
from .templates import TemplateError, substitute

log = logging.getLogger(__name__)


class _NoCredentials(AuthBase):
    """Set as session.auth so that requests never adds ~/.netrc credentials to a request."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


def make_session(pool_size: int = 10) -> requests.Session:
    """A Session for fallback fetches: pooled keep-alive connections, no retries, no cookies.

    Redirects are not followed by requests: FhirClient passes ``allow_redirects=False`` and
    follows them itself, sending the token only to the fhirServer of the request. Share one
    Session per process (urllib3's pool is thread-safe; the Session keeps no per-request state).
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.auth = _NoCredentials()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers["User-Agent"] = "rls-cds-fhir-fallback"
    return session


def _access_token(request_body: Mapping) -> str | None:
    auth = request_body.get("fhirAuthorization")
    if isinstance(auth, Mapping):
        token = auth.get("access_token")
        if isinstance(token, str) and token:
            return token
    return None


def fill_missing_prefetch(
    templates: Mapping[str, str],
    request_body: Mapping,
    prefetch: Mapping[str, object] | None,
    *,
    policy: FhirAccessPolicy,
    session: requests.Session,
    executor: Executor | None = None,
    concurrent: bool = True,
    timings: dict[str, float] | None = None,
) -> dict[str, object]:
    """A new prefetch dict with every absent or OperationOutcome key fetched from fhirServer.

    Keys present with data, and null keys, are kept as given. Missing keys are fetched within
    one deadline (``policy.deadline_s`` for all of them together), concurrently on ``executor``
    (a process-wide ThreadPoolExecutor the caller may share; without one a pool of at most
    ``policy.max_workers`` threads is made for this call) or one after the other when
    ``concurrent`` is false. ``timings``, when given, receives seconds per fetched key and
    ``"_total"``. Raises FhirUnavailable (with ``.key``) when a key cannot be had: no
    fhirServer, server refused by the policy, template not fillable, timeout, connection
    error, any non-200 answer (401, 403, 404 on a read, 5xx). An empty search is data. The key
    named is the first in template order (sequential), or the first failure to complete
    (concurrent). On failure or timeout the call returns at once; fetches still running end by
    their own timeout (at most the deadline) on their pool thread.
    """
    result: dict[str, object] = dict(prefetch or {})
    keys = missing_keys(templates, prefetch)
    if not keys:
        return result
    server = request_body.get("fhirServer")
    if not isinstance(server, str) or not server:
        raise FhirUnavailable("no fhirServer in the request to fetch prefetch from", keys[0])
    context = request_body.get("context")
    context = context if isinstance(context, Mapping) else {}
    queries: dict[str, str] = {}
    for key in keys:
        try:
            queries[key] = substitute(templates[key], context)
        except TemplateError as err:
            raise FhirUnavailable(f"cannot build the query: {err}", key) from None
    try:
        client = FhirClient(server, _access_token(request_body), policy, session)
    except FhirUnavailable as err:
        err.key = keys[0]
        raise
    start = time.monotonic()
    deadline = start + policy.deadline_s
    if concurrent:
        fetched = _fetch_concurrently(client, queries, deadline, executor)
    else:
        fetched = {key: _fetch_one(client, key, query, deadline) for key, query in queries.items()}
    for key, (resource, elapsed) in fetched.items():
        result[key] = resource
        if timings is not None:
            timings[key] = elapsed
    if timings is not None:
        timings["_total"] = time.monotonic() - start
    log.info(
        "prefetch fallback: %d key(s) from %s in %.0f ms",
        len(fetched),
        client.base_url,
        (time.monotonic() - start) * 1000,
    )
    return result


def fetch_prefetch_sequential(
    templates: Mapping[str, str],
    request_body: Mapping,
    prefetch: Mapping[str, object] | None,
    *,
    policy: FhirAccessPolicy,
    session: requests.Session,
    timings: dict[str, float] | None = None,
) -> dict[str, object]:
    """fill_missing_prefetch one key after the other (for latency comparisons)."""
    return fill_missing_prefetch(
        templates,
        request_body,
        prefetch,
        policy=policy,
        session=session,
        concurrent=False,
        timings=timings,
    )


def _fetch_one(client: FhirClient, key: str, query: str, deadline: float) -> tuple[dict, float]:
    start = time.monotonic()
    try:
        resource = client.get(query, deadline)
    except FhirUnavailable as err:
        err.key = err.key or key
        raise
    return resource, time.monotonic() - start


def _fetch_concurrently(
    client: FhirClient, queries: dict[str, str], deadline: float, executor: Executor | None
) -> dict[str, tuple[dict, float]]:
    workers = max(1, min(client.policy.max_workers, len(queries)))
    pool = executor or ThreadPoolExecutor(workers, thread_name_prefix="fhir-prefetch")
    futures: dict[str, Future[tuple[dict, float]]] = {}
    try:
        for key, query in queries.items():
            futures[key] = pool.submit(_fetch_one, client, key, query, deadline)
        remaining = max(0.0, deadline - time.monotonic())
        done, pending = wait(futures.values(), timeout=remaining, return_when=FIRST_EXCEPTION)
        for future in futures.values():  # template order: the first failed key wins
            error = future.exception() if future in done else None
            if error is not None:
                raise error
        if pending:
            key = next(k for k, f in futures.items() if f in pending)
            raise FhirUnavailable(f"timed out after {client.policy.deadline_s} s", key)
        return {key: future.result() for key, future in futures.items()}
    finally:
        for future in futures.values():
            future.cancel()
        if executor is None:
            pool.shutdown(wait=False, cancel_futures=True)
