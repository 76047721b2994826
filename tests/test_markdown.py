"""The Markdown converter: smarty's pass runs only when there is something for it to educate."""

from __future__ import annotations

import pytest

from exporter.markdown_ext import OnlyWhenNeeded, make_markdown

SAMPLES = [
    'She said "Hold the line" -- and left... It\'s the \'80s.',
    "Plain text with typographic quotes already: “Kyiv’s defenders” — and … dots.",
    'A `"code" -- span` and a [link](http://x.test "its \'title\'") stay as they are.',
    "Two hyphens in code only: `a -- b`, and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    "An em dash---and an en dash--between words; four hyphens ---- stay.",
    '"Quoted at the start," he said. \'Single at the start,\' she said.',
    "Nothing for smarty at all, in *emphasis* and **strength**.",
]


def _plain_smarty() -> object:
    """The converter with smarty's own pass in place of the one that may skip it."""
    converter = make_markdown()
    wrapper = converter.treeprocessors["smarty"]
    assert isinstance(wrapper, OnlyWhenNeeded)
    converter.treeprocessors.register(wrapper.inner, "smarty", 6)
    return converter


@pytest.mark.parametrize("text", SAMPLES)
def test_the_output_is_smartys_own(text: str) -> None:
    assert make_markdown().convert(text) == _plain_smarty().convert(text)  # type: ignore[attr-defined]


def test_straight_quotes_dashes_and_dots_are_educated() -> None:
    html = make_markdown().convert(SAMPLES[0])
    assert "\u201cHold the line\u201d \u2013 and left\u2026 It\u2019s the \u201980s." in html


def test_text_with_nothing_to_educate_skips_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    converter = make_markdown()
    wrapper = converter.treeprocessors["smarty"]
    calls: list[object] = []
    monkeypatch.setattr(wrapper.inner, "run", lambda root: calls.append(root))
    converter.convert(SAMPLES[1])
    assert calls == []
    converter.convert(SAMPLES[0])
    assert len(calls) == 1
