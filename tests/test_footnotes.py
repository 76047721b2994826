"""Footnotes in the PDF: numbered as the HTML numbers them, printed once, paragraphs kept,
and on the page of their call."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
from lxml import html

from conftest import run_cli
from validators import epubcheck_messages, pdf_text

CITED_TWICE = """# Notes

A note used twice[^n] and again[^n].

Defined in another order: first[^b] then[^a].

[^a]: Defined first, cited last.

[^n]: Multi-paragraph note.

    Its second paragraph.

[^b]: Defined last, cited first.
"""


def _html_numbers(page: Path) -> dict[str, str]:
    """Each note's id (without the separator's prefix) and the number the HTML edition shows."""
    links = html.parse(str(page)).getroot().find_class("footnote-ref")
    return {link.get("href").rsplit("-", 1)[-1]: link.text_content() for link in links}


def _build(tmp_path: Path, name: str, text: str, *args: str) -> Path:
    source = tmp_path / f"{name}.md"
    source.write_text(text, encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out", "-f", "pdf", "-f", "html", *args)
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output, result.output
    return tmp_path / "out" / f"{name}.pdf"


def test_a_note_cited_twice_is_printed_once_with_the_html_number(tmp_path: Path) -> None:
    pdf = _build(tmp_path, "twice", CITED_TWICE)
    numbers = _html_numbers(pdf.with_suffix(".html"))
    n, a, b = numbers["n"], numbers["a"], numbers["b"]
    assert len({n, a, b}) == 3
    lines = pdf_text(pdf).splitlines()
    text = "\n".join(lines)
    assert f"A note used twice{n} and again{n}." in text
    assert f"Defined in another order: first{b} then{a}." in text
    assert text.count("Multi-paragraph note.") == 1
    assert f"{n}. Multi-paragraph note." in lines and "Its second paragraph." in lines
    assert f"{a}. Defined first, cited last." in lines
    assert f"{b}. Defined last, cited first." in lines


def _crowded() -> str:
    """Paragraphs dense with long notes, so that notes fall at page ends; each call follows a
    three-letter word ``q..`` that its note names."""
    words = [f"q{x}{y}" for x in "abcdefgh" for y in "abcdefgh"][:48]
    filler = "The text runs on between the calls so that lines fill the page. " * 2
    body = "\n\n".join(
        " ".join(f"{filler}Cited {word}[^{word}]." for word in words[i:i + 3])
        for i in range(0, len(words), 3))
    notes = "\n".join(f"[^{word}]: Note {word} " + "is long enough to take several lines. " * 4
                      for word in words)
    return f"# Crowded\n\n{body}\n\n{notes}\n"


def test_each_note_is_on_the_page_of_its_call(tmp_path: Path) -> None:
    pdf = _build(tmp_path, "crowded", _crowded(), "--page-size", "6x9in")
    numbers = _html_numbers(pdf.with_suffix(".html"))
    calls: dict[str, int] = {}
    notes: dict[str, int] = {}
    for page in range(1, len(pikepdf.open(pdf).pages) + 1):
        text = pdf_text(pdf, "-f", str(page), "-l", str(page))
        for word, number in re.findall(r"Cited\s+(q[a-h]{2})(\d+)\.", text):
            assert numbers[word] == number
            calls[word] = page
        for number, word in re.findall(r"(?m)^(\d+)\. Note (q[a-h]{2}) ", text):
            assert numbers[word] == number
            notes[word] = page
    assert len(calls) == len(notes) == len(numbers) == 48
    assert len(set(calls.values())) >= 4
    assert {word: page for word, page in notes.items() if calls[word] != page} == {}


def test_a_note_longer_than_a_page_leaves_the_text_where_it_was(tmp_path: Path) -> None:
    """Moving the call's line after a note that never fits would strew the text over pages:
    the text stays on the first page, the note follows."""
    lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 4
    source = tmp_path / "giant.md"
    source.write_text(f"---\ntitle: Giant\n---\n\n{lorem}\n\n{lorem} The call[^g] here.\n\n"
                      f"{lorem}\n\n[^g]: The note: {'giant note text ' * 700}\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out", "-f", "pdf")
    assert result.exit_code == 0, result.output
    first = pdf_text(tmp_path / "out" / "giant.pdf", "-f", "1", "-l", "1")
    assert "The call" in first and first.count("Lorem") == 12


BLOCKS = """---
title: Notes with blocks
---

A paragraph whose note holds a list.[^list] The text after the call stays in the body.

## A heading with a note[^head]

*An italic paragraph with a note.*[^it] A plain note.[^plain]

[^list]: The note opens with words.

    - first point of the note
    - second point

    ```
    exporter build --force
    ```

    And a closing paragraph.

[^head]: Cited in a heading.
[^it]: Cited in italics.
[^plain]: Cited in plain text.
"""


def test_a_note_of_lists_and_code_stays_a_note_in_the_type_of_the_text(tmp_path: Path) -> None:
    """A list or code block in a note ended the call's paragraph, spilling the note into the
    text; a note cited in a heading or in italics took that type."""
    import pdfplumber

    pdf = _build(tmp_path, "blocks", BLOCKS)
    lines = [line.strip() for line in pdf_text(pdf).splitlines() if line.strip()]
    assert "A paragraph whose note holds a list.1 The text after the call stays in the body." in lines
    body_end = lines.index("An italic paragraph with a note.3 A plain note.4")
    assert lines[body_end + 1:] == [
        "1. The note opens with words.", "• first point of the note", "• second point",
        "exporter build --force", "And a closing paragraph.", "2. Cited in a heading.",
        "3. Cited in italics.", "4. Cited in plain text."]
    with pdfplumber.open(pdf) as document:
        words = document.pages[0].extract_words(extra_attrs=["fontname", "size"])
    type_of = {w["text"]: (w["fontname"].split("+")[-1], round(w["size"], 2)) for w in words
               if w["text"] in ("heading.", "italics.", "text.")}
    assert len(set(type_of.values())) == 1 and len(type_of) == 3, type_of


def test_a_note_no_call_cites_is_kept_after_the_text_with_a_warning(tmp_path: Path) -> None:
    """It vanished from the PDF, and its back link was called a link that leads nowhere."""
    source = tmp_path / "uncited.md"
    source.write_text("---\ntitle: U\n---\n\nText[^a] here.\n\n[^a]: Cited.\n[^b]: Never cited.\n"
                      "[^c]: Nor this.\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path, "-f", "pdf", "-f", "html")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning")]
    assert warnings == [f"Warning: {source}:{line}: note [^{name}] has no call in the text: the editions "
                        "list it after the text" for name, line in (("b", 8), ("c", 9))]
    lines = [line.strip() for line in pdf_text(tmp_path / "uncited.pdf").splitlines() if line.strip()]
    assert lines == ["U", "Text1 here.", "2. Never cited.", "3. Nor this.", "1. Cited."]
    page = html.parse(str(tmp_path / "uncited.html")).getroot()
    assert [len(item.find_class("footnote-backref")) for item in page.iterfind(".//li")] == [1, 0, 0]


def test_raw_html_imitating_a_back_link_is_an_ordinary_link(tmp_path: Path) -> None:
    source = tmp_path / "raw.md"
    source.write_text('# Raw\n\nText <a class="footnote-backref" title="3" href="#x">back</a>.\n',
                      encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path, "-f", "html")
    assert result.exit_code == 0 and "leads nowhere" in result.output, result.output


def test_a_note_s_numbered_list_counts_on_its_own(tmp_path: Path) -> None:
    """Its items took the numbers of the list the note is cited in, and the next note's went on."""
    pdf = _build(tmp_path, "counts", "# Counts\n\n1. First[^a]\n2. Second[^b]\n\n"
                 "[^a]: Steps:\n\n    1. alpha\n    2. beta\n\n[^b]: More:\n\n    1. gamma\n")
    lines = [line.strip() for line in pdf_text(pdf).splitlines() if line.strip()]
    assert lines == ["Counts", "1. First1", "2. Second2", "1. Steps:", "1. alpha", "2. beta",
                     "2. More:", "1. gamma"]


def test_a_note_s_table_keeps_its_column_alignment(tmp_path: Path) -> None:
    import pdfplumber

    pdf = _build(tmp_path, "aligned", "# Aligned\n\nText.[^t]\n\n[^t]: Figures:\n\n"
                 "    | Place | Count |\n    |:--|--:|\n    | Here | 7 |\n    | There | 1234 |\n")
    with pdfplumber.open(pdf) as document:
        words = {w["text"]: w for w in document.pages[0].extract_words()}
    assert abs(words["7"]["x1"] - words["1234"]["x1"]) < 0.5  # (right-aligned: their ends meet)


def test_notes_labelled_with_any_characters_keep_their_place(tmp_path: Path) -> None:
    """A label with a colon or a space made an id the sanitizer dropped: the note was printed
    twice in the PDF and left out of the EPUB, and the warning named no label."""
    source = tmp_path / "labels.md"
    source.write_text("# Labels\n\nOne[^a] and two[^x:y] and three[^a b].\n\n[^a]: First.\n"
                      "[^x:y]: Second.\n[^a b]: Third.\n[^q:r]: Never cited.\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("Warning")] == [
        f"Warning: {source}:8: note [^q:r] has no call in the text: the editions list it after the text"]
    lines = [line.strip() for line in pdf_text(tmp_path / "out" / "labels.pdf").splitlines() if line.strip()]
    assert lines == ["Labels", "One1 and two2 and three3.", "4. Never cited.", "1. First.", "2. Second.",
                     "3. Third."]
    assert epubcheck_messages(tmp_path / "out" / "labels.epub") == []


def test_a_heading_citing_a_note_is_named_without_its_number(tmp_path: Path) -> None:
    """The contents, the EPUB's navigation and the PDF's bookmarks said "Heading with note1"."""
    import zipfile

    source = tmp_path / "heading.md"
    source.write_text("# H\n\nIntro.\n\n## Heading with note[^h]\n\nText.\n\n## Second\n\nMore.\n\n"
                      "[^h]: The note.\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path, "--toc")
    assert result.exit_code == 0, result.output
    with pikepdf.open(tmp_path / "heading.pdf") as pdf, pdf.open_outline() as outline:
        titles = [[child.title for child in item.children] for item in outline.root]
    assert titles == [["Heading with note", "Second"]]
    assert "Heading with note 1" in " ".join(pdf_text(tmp_path / "heading.pdf").split())  # (contents)
    with zipfile.ZipFile(tmp_path / "heading.epub") as book:
        assert ">Heading with note</a>" in book.read("EPUB/nav.xhtml").decode()
    assert "Heading with note1" in pdf_text(tmp_path / "heading.pdf")  # (the heading keeps its call)
