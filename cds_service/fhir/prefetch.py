"""What each prefetch key holds, decided once per key: data, empty, missing or error.

The explicit policy (HAPI's CDS Hooks module keeps one too, as its prefetch failure mode):

- ``data``: a resource, or a Bundle holding at least one resource that is not an
  OperationOutcome. Read it.
- ``empty``: ``null``; or an OperationOutcome, alone or as a Bundle's only entries, whose issues
  are all ``information`` or ``warning``. Epic's empty search is a searchset whose only entry is
  such an outcome (``search.mode: outcome``, "Resource request returns no results"). Read as no
  resources; never refetched.
- ``missing``: the key is absent. Fetched from the FHIR server, else 412.
- ``error``: an OperationOutcome with an ``error`` or ``fatal`` issue (or none at all), alone or
  as a Bundle's only entries: the client says it failed. Fetched from the FHIR server, else 412.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from cds_service.fhir.resources import as_list


class KeyState(StrEnum):
    DATA = "data"
    EMPTY = "empty"
    MISSING = "missing"
    ERROR = "error"


# The members as module constants: on Python 3.11 each ``KeyState.X`` is a Python-level
# descriptor call (about 0.9 K instructions), and key states are decided for every key of
# every request.
DATA, EMPTY, MISSING, ERROR = KeyState.DATA, KeyState.EMPTY, KeyState.MISSING, KeyState.ERROR
BENIGN = frozenset({"information", "warning"})


def _outcome_is_benign(outcome: Mapping[str, Any]) -> bool:
    """An OperationOutcome that reports no failure: every issue information or warning (a
    severity that is not text, a list or an object, reports nothing benign)."""
    issues = as_list(outcome.get("issue"))
    return bool(issues) and all(
        isinstance(i, dict) and type(i.get("severity")) is str and i["severity"] in BENIGN
        for i in issues
    )


def _outcomes_only(bundle: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The OperationOutcomes of a Bundle whose entries are all OperationOutcomes, else None."""
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        return None
    outcomes = []
    for entry in entries:  # stops at the first datum: a data Bundle costs one look
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "OperationOutcome":
            return None
        outcomes.append(resource)
    return outcomes


def key_state(prefetch: Mapping[str, Any], key: str) -> KeyState:
    """How ``prefetch[key]`` is to be read."""
    if key not in prefetch:
        return MISSING
    value = prefetch[key]
    if value is None:
        return EMPTY
    if not isinstance(value, dict):  # JSON objects arrive as dicts; abc checks cost here
        return ERROR
    rtype = value.get("resourceType")
    if rtype == "OperationOutcome":
        return EMPTY if _outcome_is_benign(value) else ERROR
    if rtype == "Bundle":
        try:  # the common case: a first entry that is a resource other than an outcome
            if value["entry"][0]["resource"]["resourceType"] != "OperationOutcome":
                return DATA
        except (KeyError, TypeError, IndexError):
            pass
        outcomes = _outcomes_only(value)
        if outcomes is not None:
            return EMPTY if all(map(_outcome_is_benign, outcomes)) else ERROR
    return DATA


def key_states(
    templates: Mapping[str, str], prefetch: Mapping[str, Any] | None
) -> dict[str, KeyState]:
    """The state of every declared key."""
    given = prefetch or {}
    return {key: key_state(given, key) for key in templates}


def missing_keys(templates: Mapping[str, str], prefetch: Mapping[str, Any] | None) -> list[str]:
    """The declared keys to fetch from the FHIR server (missing, or reported as an error)."""
    return keys_to_fetch(key_states(templates, prefetch))


def keys_to_fetch(states: Mapping[str, KeyState]) -> list[str]:
    """The keys whose ``key_states`` say fetch them: missing, or reported as an error."""
    # identity with the module constants, not set membership: hashing an enum member is a
    # Python call on 3.11
    return [key for key, state in states.items() if state is MISSING or state is ERROR]


def usable_prefetch(templates: Mapping[str, str], prefetch: Mapping[str, Any]) -> dict[str, Any]:
    """The declared keys only; empty keys (null, or a benign outcome) become None."""
    states = key_states(templates, prefetch)
    get = prefetch.get
    return {k: None if states[k] is EMPTY else get(k) for k in templates}


def read_prefetch(
    templates: Mapping[str, str], prefetch: Mapping[str, Any]
) -> tuple[dict[str, KeyState], list[str], dict[str, Any]]:
    """``key_states``, ``keys_to_fetch`` and ``usable_prefetch`` of one prefetch in one pass
    over the declared keys: what every request needs, without three walks of them."""
    states: dict[str, KeyState] = {}
    fetch: list[str] = []
    data: dict[str, Any] = {}
    for key in templates:
        state = states[key] = key_state(prefetch, key)
        if state is MISSING or state is ERROR:
            fetch.append(key)
        data[key] = None if state is EMPTY else prefetch.get(key)
    return states, fetch, data
