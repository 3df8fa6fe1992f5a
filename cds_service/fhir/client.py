"""Deadline-bound FHIR reads and paged searches against one allowlisted fhirServer ([P4], [P5])."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit

if TYPE_CHECKING:  # requests is imported by the first fallback fetch, not by every worker
    import requests

log = logging.getLogger(__name__)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_REDIRECTS = 3


class FhirUnavailable(Exception):
    """Prefetch data could not be obtained. ``reason`` is safe to show the client: no token."""

    def __init__(self, reason: str, key: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key

    def __str__(self) -> str:
        return f"prefetch {self.key!r}: {self.reason}" if self.key else self.reason


@dataclass(frozen=True)
class FhirAccessPolicy:
    """Which FHIR servers may be contacted, and how long and how far a fallback may go."""

    allowlist: tuple[str, ...]
    allow_http: bool = False
    deadline_s: float = 2.0
    max_pages: int = 10
    max_workers: int = 6
    max_response_bytes: int = 20_000_000

    def __post_init__(self) -> None:
        if self.deadline_s <= 0 or self.max_pages < 1 or self.max_workers < 1:
            raise ValueError("deadline_s must be > 0, max_pages and max_workers >= 1")

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be contacted, or None when it may."""
        parts = _split(url)
        if parts is None:
            return "FHIR server URL is not a valid absolute http(s) URL"
        if parts[0] == "http" and not self.allow_http:
            return f"FHIR server {_origin(url)} is not https"
        if not any(url_within(url, prefix) for prefix in self.allowlist):
            return f"FHIR server {_origin(url)} not on the allowlist"
        return None


def _split(url: str) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path) of an absolute http(s) URL without credentials, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    segments = unquote(parts.path).split("/")
    if any(s in (".", "..") for s in segments) or "\\" in url:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme], parts.path


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def url_within(url: str, prefix: str) -> bool:
    """True when ``url`` is on the same origin as ``prefix`` and its path is at or under it."""
    u, p = _split(url), _split(prefix)
    if u is None or p is None or u[:3] != p[:3]:
        return False
    base = p[3].rstrip("/")
    return u[3] == base or u[3].startswith(base + "/")


class FhirClient:
    """GETs relative queries from one FHIR server; sends the bearer token only to that server."""

    def __init__(
        self, base_url: str, token: str | None, policy: FhirAccessPolicy, session: requests.Session
    ) -> None:
        refusal = policy.refusal(base_url)
        if refusal is None and ("?" in base_url or "#" in base_url):
            refusal = "FHIR server URL must not have a query or fragment"
        if refusal:
            raise FhirUnavailable(refusal)
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.policy = policy
        self.session = session

    def get(self, relative_query: str, deadline: float) -> dict:
        """The resource, or one searchset Bundle merging up to ``max_pages`` pages.

        ``deadline`` is an absolute ``time.monotonic()`` instant shared by every request made.
        """
        url = f"{self.base_url}/{relative_query.lstrip('/')}"
        if not url_within(url, self.base_url):
            raise FhirUnavailable("prefetch query leaves the FHIR server base")
        first = self._fetch(url, deadline)
        if first.get("resourceType") != "Bundle" or first.get("type") != "searchset":
            _check_read(relative_query, first)
            return first
        merged = dict(first, entry=_dicts(first.get("entry")))
        seen = {_entry_key(e) for e in merged["entry"]}
        page, next_url = 1, _next_link(first)
        while next_url and page < self.policy.max_pages:
            if not url_within(next_url, self.base_url):
                raise FhirUnavailable("FHIR server sent a next link to another server")
            bundle = self._fetch(next_url, deadline)
            for entry in _dicts(bundle.get("entry")):
                key = _entry_key(entry)
                if key is None or key not in seen:
                    seen.add(key)
                    merged["entry"].append(entry)
            page, next_url = page + 1, _next_link(bundle)
        links = [link for link in _dicts(first.get("link")) if link.get("relation") == "self"]
        if next_url:  # capped: keep the unfollowed next link so readers can tell
            links.append({"relation": "next", "url": next_url})
        merged["link"] = links
        for field in ("link", "entry"):  # no empty arrays in FHIR JSON
            if not merged[field]:
                del merged[field]
        return merged

    def _fetch(self, url: str, deadline: float) -> dict:
        headers = {"Accept": "application/fhir+json"}
        for _ in range(_MAX_REDIRECTS + 1):
            if self._token and url_within(url, self.base_url):
                headers["Authorization"] = f"Bearer {self._token}"
            else:
                headers.pop("Authorization", None)
            resp = self._send(url, headers, deadline)
            if resp.status_code not in (301, 302, 303, 307, 308):
                return self._parse(resp, deadline)
            target = urljoin(url, resp.headers.get("Location", ""))
            resp.close()
            if not url_within(target, self.base_url) and self.policy.refusal(target):
                raise FhirUnavailable("FHIR server redirected to a server not on the allowlist")
            url = target
        raise FhirUnavailable("FHIR server redirected too many times")

    def _send(self, url: str, headers: dict[str, str], deadline: float) -> requests.Response:
        import requests

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FhirUnavailable(f"timed out after {self.policy.deadline_s} s")
        try:
            return self.session.get(
                url,
                headers=headers,
                timeout=(remaining, remaining),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout:
            raise FhirUnavailable(f"timed out after {self.policy.deadline_s} s") from None
        except requests.ConnectionError:
            raise FhirUnavailable(f"could not connect to FHIR server {_origin(url)}") from None
        except requests.RequestException:
            raise FhirUnavailable(f"request to FHIR server {_origin(url)} failed") from None

    def _parse(self, resp: requests.Response, deadline: float) -> dict:
        import requests

        with resp:
            if resp.status_code != 200:
                log.info("FHIR server %s answered %s", _origin(resp.url), resp.status_code)
                raise FhirUnavailable(f"FHIR server answered {resp.status_code}")
            body = bytearray()
            try:
                for chunk in resp.iter_content(65536):
                    body += chunk
                    if len(body) > self.policy.max_response_bytes:
                        raise FhirUnavailable("FHIR server response too large")
                    if time.monotonic() > deadline:
                        raise FhirUnavailable(f"timed out after {self.policy.deadline_s} s")
            except requests.RequestException:
                raise FhirUnavailable("reading the FHIR answer failed or timed out") from None
        try:
            resource = json.loads(bytes(body))
        except ValueError:
            raise FhirUnavailable("FHIR server answered with something other than JSON") from None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirUnavailable("FHIR server answered with something other than a resource")
        return resource


def _check_read(relative_query: str, resource: dict) -> None:
    """An instance read (``Type/id``) must give that type; nothing may give an OperationOutcome."""
    rtype = resource["resourceType"]
    path = relative_query.lstrip("/").split("?", 1)[0].split("/")
    if rtype == "OperationOutcome" or (len(path) == 2 and rtype != path[0]):
        raise FhirUnavailable(f"FHIR server answered {rtype} for a {path[0]} read")


def _dicts(value: object) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _next_link(bundle: dict) -> str | None:
    for link in _dicts(bundle.get("link")):
        if link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None


def _entry_key(entry: dict) -> tuple[str, str, str] | None:
    resource = entry.get("resource") or {}
    if "id" not in resource:
        return None
    mode = (entry.get("search") or {}).get("mode", "match")
    return resource.get("resourceType", ""), resource["id"], mode
