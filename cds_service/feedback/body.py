"""The feedback request body, parsed like the hook bodies (orjson) and checked before reading.

orjson refuses malformed JSON, lone surrogates (``"\\ud800"``) and nesting past 1024 levels;
on top of that a feedback body may nest at most ``MAX_DEPTH`` levels (the deepest real shape,
Epic's override reasons, uses six: deeper bodies would only cost recursion later) and holds no
NUL character anywhere: PostgreSQL cannot store one in text, so it is refused on every database
alike, with the field named, rather than stored on SQLite and answered 503 on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import orjson

from cds_service.feedback.validation import FeedbackError

MAX_DEPTH = 32


def parse_feedback_body(raw: bytes) -> Any:
    """The parsed body; FeedbackError (400) naming the field for anything it cannot hold."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FeedbackError("$", f"request body must be valid JSON ({exc.msg})") from None
    _check_tree(body)
    return body


def _check_tree(body: Any) -> None:
    """Depth and NUL check, iteratively (a recursive walk is what deep nesting breaks)."""
    stack: list[tuple[Any, str, int]] = [(body, "$", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise FeedbackError(path, "must not contain a NUL character (U+0000)")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise FeedbackError("$", f"request body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
            continue
        for key, item in value.items():
            child = key if path == "$" else f"{path}.{key}"
            if "\x00" in key:
                raise FeedbackError(path, "must not contain a NUL character (U+0000) in a key")
            stack.append((item, child, depth + 1))
