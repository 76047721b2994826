"""The Markdown converter: smarty's pass runs only when there is something for it to educate,
SuperFences only when there could be code; tables carry what narrow pages need."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html

from exporter.markdown_ext import REFLOW_WIDTHS, OnlyWhenNeeded, make_markdown, may_hold_code
from exporter.sanitize import sanitize_html

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


WIDE = ("| District | Main settlement | Crews | Calls answered |\n|:--|:-:|--:|---|\n"
        "| Sloviansko-Sviatohirskyi raion (southern sector) | Novooleksandrivka | 12 | 1,200 |\n")


def test_tables_carry_alignment_labels_and_the_width_they_need() -> None:
    """Alignment as classes (no style for the sanitiser to drop), each cell's column header,
    and a wrapper that names the width under which narrow pages reflow the table."""
    page = html.fromstring(sanitize_html(make_markdown().convert(WIDE)))
    wrap = page if page.tag == "div" else page.find(".//div")
    kind, width = wrap.get("class").split()
    assert kind == "table-wrap" and width in {f"reflow-{w}" for w in REFLOW_WIDTHS[1:]}
    cells = wrap.findall(".//td")
    assert [cell.get("class") for cell in cells] == ["align-left", "align-center", "num align-right",
                                                     "num"]
    assert [cell.get("data-label") for cell in cells] == ["District", "Main settlement", "Crews",
                                                          "Calls answered"]
    assert not [cell for cell in wrap.iter("td", "th") if cell.get("style") or cell.get("align")]
    narrow = html.fromstring(make_markdown().convert("| a | b |\n|---|---|\n| 1 | 2 |\n"))
    assert narrow.get("class") == "table-wrap"  # (never too wide for a page: never reflowed)


def test_an_escaped_pipe_in_a_table_is_a_pipe_in_code_too() -> None:
    """As on GitHub: ``\\|`` in a cell is ``|``, in a code span as well as outside one."""
    page = html.fromstring(make_markdown().convert("| a | b |\n|---|---|\n| `x \\| y` | p\\|q |\n"))
    assert [cell.text_content() for cell in page.iter("td")] == ["x | y", "p|q"]


# Lines of the block and inline syntax that mixes with code blocks: lists at CommonMark's and
# Python-Markdown's depths, quotes, footnotes, definitions, headings, HTML, rules and tables.
_LINE_PARTS = st.sampled_from(["", " ", "  ", "   ", "-", "- ", "* ", "1.", "1. ", "2) ", "> ", ">  ", "# ",
                               ": ", "[^1]: ", "| ", "---", "`", "``", "~", "<pre>", "</pre>",
                               "<div>", "word", "*em*", "a_b", "x[^1]", "\\", "&amp;", "--"])
_TEXTS = st.lists(st.lists(_LINE_PARTS, max_size=5).map("".join), max_size=14).map("\n".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(_TEXTS.filter(lambda text: not may_hold_code(text)))
def test_without_code_superfences_changes_nothing(text: str) -> None:
    """Text that cannot hold a code block converts alike with and without SuperFences."""
    assert make_markdown(code=False).convert(text) == make_markdown().convert(text)


def test_text_that_could_hold_code_is_converted_with_superfences() -> None:
    fenced, indented, quoted = "```\ncode\n```", "Text\n\n    code", ">\tcode"
    assert all(may_hold_code(text) for text in (fenced, indented, quoted))
    assert '<pre class="highlight">' in make_markdown(code=True).convert(indented)
    assert not may_hold_code("- a\n- b\n\n> quoted `code` ~ and -- dashes\n>  d")
    assert may_hold_code("-\n\n  foo\n")  # (re-indented to four spaces: code, to Python-Markdown)


def test_corpus_without_code_converts_alike() -> None:
    """Every article of the project's samples that holds no code converts alike either way."""
    root = Path(__file__).resolve().parent.parent
    texts = [path.read_text(encoding="utf-8", errors="replace") for folder in ("content", "tests")
             for path in sorted((root / folder).rglob("*.md"))]
    plain = [text for text in texts if not may_hold_code(text)]
    assert plain, "no sample without code"
    for text in plain:
        assert make_markdown(code=False).convert(text) == make_markdown().convert(text)
