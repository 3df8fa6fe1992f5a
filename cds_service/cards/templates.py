"""Knowledge-file text templates ("{orders} for RLS: ..."), parsed once instead of per card."""

from __future__ import annotations

from string import Formatter


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


class Template:
    """``template.format_map`` with missing values left blank, for templates of plain fields.

    A template with anything but plain ``{name}`` fields (a format spec, a conversion, an
    attribute or index) keeps using ``str.format_map``, so every template reads as it always did.
    """

    __slots__ = ("text", "parts", "general", "fixed", "single")

    def __init__(self, text: str) -> None:
        self.text = text
        parsed = list(Formatter().parse(text))
        self.general = any(
            field is not None and (spec or conversion or not field.isidentifier())
            for _, field, spec, conversion in parsed
        )
        # (literal, field or None) pairs: literals already unescaped ("{{" -> "{")
        self.parts = tuple((literal, field) for literal, field, _, _ in parsed)
        # the text itself when it has no fields (a fill is then a constant)
        self.fixed: str | None = None
        if not self.general and all(field is None for _, field in self.parts):
            self.fixed = "".join(literal for literal, _ in self.parts)
        # (head, field, tail) of a template with one plain field, the usual summary: two
        # concatenations instead of format_map, which parses the text again on every fill
        self.single: tuple[str, str, str] | None = None
        fields = [field for _, field in self.parts if field is not None]
        if not self.general and len(fields) == 1:
            at = [field for _, field in self.parts].index(fields[0])
            head = "".join([literal for literal, _ in self.parts[: at + 1]])
            tail = "".join([literal for literal, _ in self.parts[at + 1 :]])
            self.single = (head, fields[0], tail)

    def fill(self, values: dict[str, str]) -> str:
        if self.fixed is not None:
            return self.fixed
        if self.single is not None:
            head, field, tail = self.single
            try:
                return head + values[field] + tail
            except (KeyError, TypeError):  # left blank, or not text: as format_map does
                pass
        if self.general:
            return self.text.format_map(_Blank(values))
        try:  # plain fields, all given (the usual case): one C call
            return self.text.format_map(values)
        except KeyError:  # a value left blank
            get = values.get
            return "".join(
                [literal + get(field, "") if field is not None else literal
                 for literal, field in self.parts]
            )

    @property
    def constant(self) -> str | None:
        """The text when it has no fields at all, else None."""
        return self.fixed
