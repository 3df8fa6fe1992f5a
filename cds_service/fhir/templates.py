"""Substitution of CDS Hooks 2.0 prefetch template tokens ([P1]) into relative FHIR queries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

TOKEN_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

# {{userXxxId}} token -> the resource type the user must be for the token to have a value
USER_TOKENS: dict[str, str] = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}

_TYPED_REFERENCE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class TemplateError(ValueError):
    """The template cannot become a query with this context (the message names the token)."""


def _encode(value: str) -> str:
    """URL-encode a substituted value; a typed reference keeps its '/' (``Practitioner/abc``)."""
    if value.strip(".") == "":
        raise TemplateError(f"value {value!r} cannot be used in a FHIR query")
    if _TYPED_REFERENCE.fullmatch(value):
        return quote(value, safe="/")
    return quote(value, safe="")


def _context_value(name: str, context: Mapping[str, object]) -> str:
    if "." in name:
        raise TemplateError(f"{{{{context.{name}}}}}: only top-level context fields can be used")
    if name not in context or context[name] is None:
        raise TemplateError(f"{{{{context.{name}}}}}: the request context has no {name}")
    value = context[name]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        if text == "":
            raise TemplateError(f"{{{{context.{name}}}}}: context.{name} is empty")
        return _encode(text)
    raise TemplateError(f"{{{{context.{name}}}}}: context.{name} is not a primitive value")


def user_resource_id(context: Mapping[str, object], resource_type: str) -> str | None:
    """The bare id of the user when ``context['userId']`` is a ``resource_type`` reference."""
    user = context.get("userId")
    if not isinstance(user, str) or "/" not in user:
        return None
    parts = user.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":  # Practitioner/abc/_history/2
        parts = parts[:-2]
    rtype, rid = parts[-2], parts[-1]
    if rtype != resource_type or not _FHIR_ID.fullmatch(rid):
        return None
    return rid


def substitute(template: str, context: Mapping[str, object]) -> str:
    """Replace every token of ``template``; raise TemplateError when one has no value here.

    ``{{context.X}}`` takes top-level primitive context field X (URL-encoded). The user tokens
    take the bare id of ``context['userId']`` when the user is a resource of that type, e.g.
    ``Practitioner/abc`` gives ``{{userPractitionerId}}`` = ``abc``; for a user of another type
    the query cannot be built, so TemplateError is raised.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        if token.startswith("context."):
            return _context_value(token[len("context.") :], context)
        if token in USER_TOKENS:
            rid = user_resource_id(context, USER_TOKENS[token])
            if rid is None:
                raise TemplateError(
                    f"{{{{{token}}}}}: the user ({context.get('userId')!r}) "
                    f"is not a {USER_TOKENS[token]}"
                )
            return quote(rid, safe="")
        raise TemplateError(f"unknown prefetch token {{{{{token}}}}}")

    result = TOKEN_RE.sub(replace, template)
    if "{{" in result or "}}" in result:
        raise TemplateError("unbalanced braces in prefetch template")
    return result
