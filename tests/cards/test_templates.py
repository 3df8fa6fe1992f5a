"""Parsed knowledge templates fill exactly as ``str.format_map`` with blanks for missing values."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.cards.templates import Template
from cds_service.knowledge import load_knowledge


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _general(text: str, values: dict[str, str]) -> str:
    return text.format_map(_Blank(values))


def _knowledge_templates() -> list[str]:
    knowledge = load_knowledge()
    texts = list(knowledge.notes.values())
    for rule in knowledge.rules.values():
        texts += [rule[key] for key in ("summary", "detail_lead", "detail") if rule.get(key)]
    return texts


VALUES = [
    {},
    {"orders": "pramipexole", "trigger": "ferritin 38 ng/mL", "why": "x {y} }"},
    {"missing": "", "source": "Condition/1 (\"RLS\")", "orders": "a, b", "extra": "unused"},
]


@pytest.mark.parametrize("text", _knowledge_templates())
def test_every_knowledge_template_fills_as_format_map(text: str) -> None:
    template = Template(text)
    assert not template.general  # the files use plain fields only: the fast path is taken
    for values in VALUES:
        assert template.fill(values) == _general(text, values)


def _outcome(fill, *args):
    try:
        return fill(*args)
    except (AttributeError, KeyError, IndexError, ValueError) as exc:
        return type(exc)


def _parsed(text: str, values: dict[str, str]) -> str:
    return Template(text).fill(values)


def test_random_templates_fill_as_format_map() -> None:
    rng = random.Random(17)
    pieces = ["{a}", "{b}", "{{", "}}", "x", " ", "é", "{a!r}", "{b:>5}", "{0}", "{a.real}", ""]
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        values = rng.choice([{}, {"a": "1"}, {"a": "A", "b": "{b}"}])
        filled = _outcome(_parsed, text, values)  # a broken template fails alike
        assert filled == _outcome(_general, text, values), text


def test_constant_is_the_text_of_a_template_without_fields() -> None:
    assert Template("no {{fields}} here").constant == "no {fields} here"
    assert Template("{a} here").constant is None


_fields = st.sampled_from(["a", "b", "orders", "trigger"])
_literals = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=4),
    st.sampled_from(["{{", "}}", ""]),
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.one_of(_literals, _fields.map(lambda f: "{" + f + "}")), max_size=6),
    st.dictionaries(_fields, st.text(max_size=4), max_size=4),
)
def test_plain_templates_fill_as_format_map_with_values_given_or_missing(
    pieces: list[str], values: dict[str, str]
) -> None:
    text = "".join(pieces)
    assert Template(text).fill(values) == _general(text, values)


@pytest.mark.parametrize("text", ["Ferritin low", "ß at first", "{{braces}}", "", "x {{y}}"])
def test_a_template_without_fields_fills_as_its_text(text: str) -> None:
    template = Template(text)
    assert template.fill({"a": "1"}) == template.constant == _general(text, {})
