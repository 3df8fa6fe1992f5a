"""Card Markdown to sanitised HTML for the server-rendered review page.

Raw HTML in the Markdown is never passed through: markdown-it escapes it as text, and nh3 then
keeps only a short list of tags, with links limited to http and https.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {"p", "strong", "em", "ul", "ol", "li", "a", "code", "br"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # CommonMark without raw HTML: "<script>" in card text stays text.
    return MarkdownIt("commonmark", {"html": False}).disable("image")


def render_markdown(text: str) -> Markup:
    """Markdown (CommonMark subset) -> HTML that is safe to put in a page as it is."""
    html = _parser().render(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    return Markup(clean)  # sanitised by nh3 just above


def safe_url(url: object) -> str | None:
    """``url`` when it is an http(s) URL, else None (never a javascript: or data: link)."""
    if not isinstance(url, str):
        return None
    lowered = url.strip().lower()
    return url.strip() if lowered.startswith(("https://", "http://")) else None
