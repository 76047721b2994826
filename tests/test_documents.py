"""Markdown and front matter as people write them: nesting, headings in any order, dates."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree, html
from markdown_it import MarkdownIt

from conftest import SEED, run_cli
from exporter.cli import cli
from exporter.markdown_ext import make_markdown
from validators import epubcheck_messages

LISTS = [
    "- one\n  - two spaces\n    - four\n- back\n",
    "1. first\n   - under the number's content column\n2. second\n",
    "- one\n    - four spaces\n        - eight\n- back\n",
    "10. ten\n    - under a wide number\n11. eleven\n",
    "- a\n   - three spaces\n  - two, a sibling of the three\n- b\n",
    "* star\n  + plus nested\n    - dash deeper\n      1. numbered deepest\n",
    "- a\n\n  a second paragraph of a\n\n  - nested after a paragraph\n- b\n",
    "- a\n  - b\n- c\n\nA paragraph between.\n\n- d\n  - e\n",
    "1. one\n2. two\n   1. two.one\n   2. two.two\n      - bullet\n3. three\n",
    "- item\n\n```\n- not a list\n  - nor this\n```\n",
    "-\ta tab\n\t-\ttab nested\n",
    "1) one\n2) two\n   - under a parenthesis\n3) three\n",
    "- a\n  3) b\n  4) c\n- d\n",
    "> 1) quoted\n> 2) list\n>     - nested\n",
    "Things to buy:\n- milk\n- eggs\n",
    "Steps:\n1. one\n2. two\n   - under two\n\nAfter.\n",
    "A year:\n2024. is not a list\n\n- but this is\n",
]


def _shape(element: etree._Element) -> str:
    """The list skeleton of *element*: ul, ol and li only, with the text of each item."""
    out = []
    for child in element:
        if child.tag in ("ul", "ol"):
            out.append(f"{child.tag}[{_shape(child)}]")
        elif child.tag == "li":
            own = (child.text or "").split()
            first = own[0] if own else next(iter("".join(child.itertext()).split()), "")
            out.append(f"li:{first}({_shape(child)})")
        else:
            out.append(_shape(child))
    return "".join(out)


@pytest.mark.parametrize("text", LISTS)
def test_lists_nest_as_commonmark_reads_them(text: str) -> None:
    """markdown-it-py (a CommonMark implementation) is the oracle for the nesting."""
    ours = html.fromstring(f"<div>{make_markdown().convert(text)}</div>")
    commonmark = html.fromstring(f"<div>{MarkdownIt('commonmark').render(text)}</div>")
    assert _shape(ours) == _shape(commonmark)
    assert [ol.get("start") for ol in ours.iter("ol")] == [ol.get("start") for ol in commonmark.iter("ol")]
    assert "<ul" in etree.tostring(ours, encoding="unicode")


def test_fenced_code_sits_in_list_items_and_quotes() -> None:
    text = ("1. Install:\n   ```sh\n   pip install x\n   ```\n2. Run it\n\n"
            "> ```python\n> print(1)\n> ```\n\n```{.python linenums=\"1\"}\nx = 1\n```\n")
    root = html.fromstring(f"<div>{make_markdown().convert(text)}</div>")
    assert root.xpath("string(//ol/li[1]//pre/code)").strip() == "pip install x"
    assert [li.text_content().strip() for li in root.xpath("//ol/li")][1] == "Run it"
    assert root.xpath("string(//blockquote//pre/code)").strip() == "print(1)"
    assert root.xpath("//pre/code/@class") == ["language-sh", "language-python", "language-python"]


def test_code_blocks_keep_their_indentation() -> None:
    text = "Text.\n\n    - code, not a list\n      indented\n\n```\n  - fenced\n```\n"
    out = make_markdown().convert(text)
    assert "<li>" not in out
    assert "- code, not a list\n  indented" in out and "  - fenced" in out


HEADINGS = "# Title\n\n### Three first\n\nText.\n\n## Two\n\n#### Four\n\n# Another one\n\nText.\n"


def test_headings_in_any_order_give_a_valid_navigation(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(HEADINGS, encoding="utf-8")
    result = run_cli("build", tmp_path / "a.md", "-o", tmp_path / "out", "-f", "epub")
    assert result.exit_code == 0, result.output
    epub = tmp_path / "out" / "a.epub"
    assert epubcheck_messages(epub) == []
    with zipfile.ZipFile(epub) as package:
        nav = etree.fromstring(package.read("EPUB/nav.xhtml"))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    toc = nav.find(".//x:nav[@id='toc']/x:ol/x:li", ns)
    assert toc is not None
    # Each heading sits under the last heading of a lower level: "Four" under "Two".
    nested = toc.xpath("x:ol/x:li[x:a='Two']/x:ol/x:li/x:a/text()", namespaces=ns)
    top = toc.xpath("x:ol/x:li/x:a/text()", namespaces=ns)
    assert nested == ["Four"]
    assert top == ["Three first", "Two", "Another one"]


@pytest.mark.parametrize(("written", "shown", "dc_date"), [
    ("September 2022", "September 2022", "2022-09"),
    ("2025-11-03", "3 November 2025", "2025-11-03"),
    ("November 3, 2025", "November 3, 2025", "2025-11-03"),
    ("2024", "2024", "2024"),
    ("Spring 2021", "Spring 2021", None),
    ("2015-03-16 13:48:00 +0100", "16 March 2015", "2015-03-16"),  # Jekyll's form
    ("2025-11-03 (approx.)", "2025-11-03 (approx.)", None),
    ("2025 BC", "2025 BC", None),
    ("3 листопада 2025", "3 листопада 2025", None),
])
def test_dates_are_kept_as_written_and_read_where_they_can_be(
        tmp_path: Path, written: str, shown: str, dc_date: str | None) -> None:
    (tmp_path / "a.md").write_text(f"---\ntitle: A\ndate: {written}\n---\n\nText.\n", encoding="utf-8")
    result = run_cli("build", tmp_path / "a.md", "-o", tmp_path / "out", "-f", "html", "-f", "epub")
    assert result.exit_code == 0, result.output
    page = html.fromstring((tmp_path / "out" / "a.html").read_bytes())
    assert page.xpath("string(//p[@class='byline'])").strip() == shown
    with zipfile.ZipFile(tmp_path / "out" / "a.epub") as package:
        opf = etree.fromstring(package.read("EPUB/content.opf"))
    dates = opf.xpath("//dc:date/text()", namespaces={"dc": "http://purl.org/dc/elements/1.1/"})
    assert dates == ([dc_date] if dc_date else [])
    if dc_date:
        assert page.xpath("//time/@datetime") == [dc_date]


@pytest.mark.parametrize("written", ["2025-02-30", "30 February 2025", "2025-13", "Feb 30, 2025",
                                     "!!timestamp 2025-02-30"])
def test_an_impossible_date_is_a_front_matter_error(tmp_path: Path, written: str) -> None:
    (tmp_path / "a.md").write_text(f"---\ntitle: A\n\ndate: {written}\n---\n\nText.\n", encoding="utf-8")
    result = run_cli("build", tmp_path / "a.md", "-o", tmp_path / "out")
    assert result.exit_code == 5
    # (a value tagged with a YAML type is refused while the block is read: at its first line)
    line, says = (2, "invalid value") if written.startswith("!!") else (4, "date ")
    assert result.output.startswith(f"Error: {tmp_path / 'a.md'}:{line}: {says}"), result.output
    assert not (tmp_path / "out").exists()


def _titles(folder: Path, stem: str) -> tuple[str, list[str]]:
    """The EPUB's dc:title and the paragraphs of its HTML edition."""
    with zipfile.ZipFile(folder / f"{stem}.epub") as package:
        opf = etree.fromstring(package.read("EPUB/content.opf"))
    title = opf.xpath("string(//dc:title)", namespaces={"dc": "http://purl.org/dc/elements/1.1/"})
    page = html.fromstring((folder / f"{stem}.html").read_bytes())
    return title, [p.text_content() for p in page.xpath("//main//p | //article//p")]


@pytest.mark.parametrize(("piped", "title"), [("Just text, no heading.\n", "Untitled"),
                                              ("# Piped heading\n\nText.\n", "Piped heading"),
                                              ("Text.\n\n## A *section*\n\nMore.\n", "A section")])
def test_a_piped_article_is_titled_by_its_heading_else_untitled(
        tmp_path: Path, piped: str, title: str) -> None:
    result = CliRunner().invoke(cli, ["build", "-", "-o", str(tmp_path), "-f", "html", "-f", "epub"],
                                input=piped.encode())
    assert result.exit_code == 0, result.output
    assert _titles(tmp_path, "stdin")[0] == title


def test_a_text_article_without_a_title_line_is_named_after_its_file(tmp_path: Path) -> None:
    first = "The first sentence is long and ends with a period. Then more text follows."
    (tmp_path / "field-notes.txt").write_text(f"{first}\n\nAnother paragraph.\n", encoding="utf-8")
    result = run_cli("build", tmp_path / "field-notes.txt", "-o", tmp_path, "-f", "html", "-f", "epub")
    assert result.exit_code == 0, result.output
    title, paragraphs = _titles(tmp_path, "field-notes")
    assert title == "Field notes"
    assert sum(first in paragraph for paragraph in paragraphs) == 1


def test_a_text_article_takes_a_title_like_first_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Battle Notes From the Front\n\nThe text begins here.\n",
                                    encoding="utf-8")
    result = run_cli("build", tmp_path / "a.txt", "-o", tmp_path, "-f", "html", "-f", "epub")
    assert result.exit_code == 0, result.output
    title, paragraphs = _titles(tmp_path, "a")
    assert title == "Battle Notes From the Front"
    assert "The text begins here." in paragraphs
    assert not any("Battle Notes" in paragraph for paragraph in paragraphs)


def test_a_text_article_keeps_its_characters_and_its_tables(tmp_path: Path) -> None:
    """Plain text means what it says: no backslash before a ``<``, no entity read into ``&amp;``,
    and ``|`` lines a table whose first line is its header, with or without a ``|---|`` rule."""
    (tmp_path / "a.txt").write_text(
        "Notes\n\nUse <tag> and a < b > c, AT&T, &amp; and *stars*.\n\n"
        "| Item | Cost <eur> |\n| Bread | 2 & 3 |\n\nBetween.\n\n| A | B |\n|---|:--|\n| 1 | 2 |\n"
        "\n| one line alone |\n\n|\n\n2) The second time it rained.\n\n3. And a third.\n",
        encoding="utf-8")
    result = run_cli("build", tmp_path / "a.txt", "-o", tmp_path, "-f", "html")
    assert result.exit_code == 0, result.output
    page = html.fromstring((tmp_path / "a.html").read_bytes())
    assert "Use <tag> and a < b > c, AT&T, &amp; and *stars*." in \
        [p.text_content() for p in page.iter("p")]
    tables = [[[cell.text_content() for cell in row] for row in table.iter("tr")]
              for table in page.iter("table")]
    assert tables == [[["Item", "Cost <eur>"], ["Bread", "2 & 3"]], [["A", "B"], ["1", "2"]]]
    assert {"| one line alone |", "|", "2) The second time it rained.", "3. And a third."} <= {
        p.text_content() for p in page.iter("p")}


LINKS = """# Links

Go to [the section](#the-section), to [nowhere](#missing), to <http://foo.bar/baz bim>,
to [a bad host](http://../), to [Kyiv](https://пример.укр/шлях) and to [3.0](#300-notes).

## The section

## 3.0.0 notes

#

Text after an empty heading.
"""


def test_links_become_valid_urls_or_plain_text(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(LINKS, encoding="utf-8")
    result = CliRunner().invoke(cli, ["build", str(tmp_path / "a.md"), "-o", str(tmp_path), "-f",
                                      "epub", "-f", "html"])
    assert result.exit_code == 0, result.output
    assert "link to #missing leads nowhere" in result.output
    assert "link to 'http://../' is not an address" in result.output
    page = html.fromstring((tmp_path / "a.html").read_bytes())
    hrefs = {a.text_content(): a.get("href") for a in page.iter("a") if a.text_content()}
    assert hrefs["the section"] == "#the-section" and hrefs["3.0"] == "#s-300-notes"
    assert hrefs["nowhere"] is None and hrefs["a bad host"] is None
    assert hrefs["http://foo.bar/baz bim"] == "http://foo.bar/baz%20bim"
    assert hrefs["Kyiv"].startswith("https://xn--") and "%D1%88" in hrefs["Kyiv"]
    assert "Text after an empty heading." in page.text_content()
    assert epubcheck_messages(tmp_path / "a.epub") == []


def test_a_raw_pre_inside_a_paragraph_gives_valid_xhtml(tmp_path: Path) -> None:
    text = "# Code\n\nIt handles <pre> text extraction.\n\n    code after\n\nAnd more.\n"
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    result = run_cli("build", tmp_path / "a.md", "-o", tmp_path, "-f", "epub")
    assert result.exit_code == 0, result.output
    assert epubcheck_messages(tmp_path / "a.epub") == []


def test_a_book_credits_every_author_and_each_chapter_keeps_its_byline(tmp_path: Path) -> None:
    for name, author, date in (("one", "Alice Ames", "2024-01-02"), ("two", "Bob Burns", "2024-03-04")):
        (tmp_path / f"{name}.md").write_text(
            f"---\ntitle: {name.title()}\nauthor: {author}\ndate: {date}\n---\n\nText.\n",
            encoding="utf-8")
    result = run_cli("build", tmp_path / "one.md", tmp_path / "two.md", "--book", "Both",
                     "-o", tmp_path / "out", "-f", "epub", "-f", "html")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "out" / "both.epub") as package:
        opf = etree.fromstring(package.read("EPUB/content.opf"))
    dc = {"dc": "http://purl.org/dc/elements/1.1/"}
    assert opf.xpath("//dc:creator/text()", namespaces=dc) == ["Alice Ames", "Bob Burns"]
    assert opf.xpath("//dc:date/text()", namespaces=dc) == []  # no one article's date
    page = html.fromstring((tmp_path / "out" / "both.html").read_bytes())
    bylines = [" ".join(p.text_content().split()) for p in page.xpath("//article//p[@class='byline']")]
    assert bylines == ["Alice Ames · 2 January 2024", "Bob Burns · 4 March 2024"]


def _font_stacks(css: str) -> list[list[str]]:
    """Each ``font-family`` value of *css* outside ``@font-face``, as a list of names."""
    import tinycss2

    stacks = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type != "qualified-rule":
            continue
        for declaration in tinycss2.parse_blocks_contents(rule.content, skip_whitespace=True):
            if declaration.type == "declaration" and declaration.lower_name == "font-family":
                value = tinycss2.serialize(declaration.value)
                stacks.append([name.strip().strip('"') for name in value.split(",")])
    return stacks


@pytest.mark.parametrize("style", ["classic", "modern", "large-print"])
def test_font_stacks_keep_their_class_in_the_html_and_epub(tmp_path: Path, style: str) -> None:
    result = run_cli("build", SEED, "-o", tmp_path, "-f", "html", "--style", style)
    assert result.exit_code == 0, result.output
    css = "\n".join(html.fromstring((tmp_path / "pokrovsk.html").read_bytes()).xpath("//style/text()"))
    stacks = _font_stacks(css)
    assert stacks
    generic = {"serif", "sans-serif", "monospace"}
    sans_faces = {"DejaVu Sans", "Inter", "Verdana", "Arial", "Helvetica Neue"}
    for stack in stacks:
        assert stack[-1] in generic, stack
        if stack[-1] != "sans-serif":  # a serif or monospace stack names no sans face
            assert not sans_faces & set(stack), stack


# Lines people write, in and around lists: the pieces of the differential test below.
PIECES = ["[^1]: note", "    note cont", "<!-- c -->", "Text[^1].", "  2. two", "- [ ] task",
          "    > q", "  ~~~", "- a", "  - b", "   - c", "    - d", "1. x", "   1. y", "10. z",
          "    code", "      code2", "        code3", "```", "  ```", "    ```", "~~~", "para text",
          "  cont", "", "", "", "> quote", "> - q", "<pre>", "</pre>", "<div>", "</div>",
          "# Heading", "* * *", "---", "Term", ":   def", "| a | b |", "|---|---|", "| 1 | 2 |",
          "  para in item", "\t- tab", "+ plus", "2) paren"]


def _structure(markup: str) -> str:
    """Tags and whitespace-folded text of *markup*; a paragraph directly in an item is ignored."""
    root = html.fragment_fromstring(markup, create_parent="div")
    parts: list[str] = []

    def walk(element: etree._Element) -> None:
        tag = element.tag if isinstance(element.tag, str) else "#"
        shown = not (tag == "p" and element.getparent() is not None
                     and element.getparent().tag == "li")
        parts.append(f"<{tag}>" if shown else "")
        if element.text and element.text.strip():
            parts.append(element.text.rstrip("\n") if tag == "code" else " ".join(element.text.split()))
        for child in element:
            walk(child)
        parts.append(f"</{tag}>" if shown else "")
        if element.tail and element.tail.strip():
            parts.append(" ".join(element.tail.split()))

    walk(root)
    return "".join(parts)


def test_re_indenting_never_makes_lists_worse_than_python_markdown() -> None:
    """Wherever the converter without the list preprocessor agrees with CommonMark, so does
    the converter with it (random documents built from the lines above, fixed seed)."""
    import random

    def convert(text: str, re_indent: bool) -> str:
        converter = make_markdown()
        if not re_indent:
            converter.preprocessors.deregister("exporter-lists")
        return _structure(converter.convert(text))

    commonmark = MarkdownIt("commonmark").enable("table")
    generator = random.Random(20261207)
    worse = []
    for _ in range(1500):
        text = "\n".join(generator.choice(PIECES) for _ in range(generator.randint(2, 8))) + "\n"
        expected = _structure(commonmark.render(text))
        if convert(text, False) == expected != convert(text, True):
            worse.append(text)
    assert worse == []


def test_in_document_links_to_encoded_fragments_are_kept(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# T\n\n[to café](#caf%C3%A9), [x](https://example.com./#a#b)\n\n"
                                   "## Café\n\nText.\n", encoding="utf-8")
    result = run_cli("build", tmp_path / "a.md", "-o", tmp_path, "-f", "epub", "-f", "html")
    assert result.exit_code == 0 and "leads nowhere" not in result.output, result.output
    page = html.fromstring((tmp_path / "a.html").read_bytes())
    assert [a.get("href") for a in page.iter("a") if a.text in ("to café", "x")] == [
        "#café", "https://example.com./#a%23b"]
    assert epubcheck_messages(tmp_path / "a.epub") == []


PANDOC_FRONT_MATTER = """---
title:
- type: main
  text: Winter Grid
- type: subtitle
  text: Repairs under fire
creator:
- role: author
  text: Olena Kovalenko
- role: editor
  text: Sarah Jones
lang: uk
subject:
- text: Energy infrastructure
  authority: BISAC
- Donetsk Oblast
keywords: [power grid, Donetsk Oblast]
abstract: How crews restored power.
rights: CC BY 4.0
publisher: The Field Desk
identifier:
  scheme: DOI
  text: doi:10.1234/winter-grid
css: pandoc.css
colour: blue
---

Text.
"""


@pytest.mark.parametrize("identifiers", ["", "- scheme: DOI\n  text: doi:10.1234/winter-grid\n"
                                         "- scheme: ISBN-13\n  text: 978-0-00-000000-2\n"])
def test_pandoc_front_matter_is_read_where_pandoc_puts_it(tmp_path: Path, identifiers: str) -> None:
    """Pandoc's forms: a mapping with ``scheme`` and ``text``, or a list of them (the first is
    the book's identifier)."""
    front = PANDOC_FRONT_MATTER.replace(
        "identifier:\n  scheme: DOI\n  text: doi:10.1234/winter-grid\n", f"identifier:\n{identifiers}"
    ) if identifiers else PANDOC_FRONT_MATTER
    assert front.count("doi:10.1234") == 1
    (tmp_path / "p.md").write_text(front, encoding="utf-8")
    result = run_cli("build", tmp_path / "p.md", "-o", tmp_path / "out", "-f", "html", "-f", "epub",
                     "--no-page-list")
    assert result.exit_code == 0, result.output
    where = tmp_path / "p.md"
    assert f"Warning: {where}: unknown front matter key 'colour' ignored" in result.stderr
    assert f"Note: {where}: pandoc's front matter key 'css' has no use" in result.stderr
    with zipfile.ZipFile(tmp_path / "out" / "p.epub") as package:
        opf = etree.fromstring(package.read("EPUB/content.opf"))
    dc = {"dc": "http://purl.org/dc/elements/1.1/"}
    assert opf.xpath("//dc:subject/text()", namespaces=dc) == [
        "Energy infrastructure", "Donetsk Oblast", "power grid"]
    assert [opf.xpath(f"string(//dc:{name})", namespaces=dc) for name in (
        "title", "creator", "language", "description", "rights", "publisher", "identifier")] == [
        "Winter Grid", "Olena Kovalenko", "uk", "How crews restored power.", "CC BY 4.0",
        "The Field Desk", "doi:10.1234/winter-grid"]
    page = html.fromstring((tmp_path / "out" / "p.html").read_bytes())
    assert page.xpath("string(//p[@class='subtitle'])") == "Repairs under fire"
    assert page.xpath("//meta[@name='keywords']/@content") == [
        "Energy infrastructure, Donetsk Oblast, power grid"]


@pytest.mark.parametrize(("entries", "message"), [
    ("  - type: [x]\n    text: Hi\n", "'title' entry of type ['x']"),
    ("  - type: main\n    text: {a: 1}\n", "'title' must be text, not dict"),
])
def test_a_pandoc_title_list_that_cannot_be_read_is_an_error(tmp_path: Path, entries: str,
                                                              message: str) -> None:
    (tmp_path / "t.md").write_text(f"---\ntitle:\n{entries}---\n\nBody.\n", encoding="utf-8")
    result = run_cli("build", tmp_path / "t.md", "-o", tmp_path / "out", "-f", "html")
    assert result.exit_code == 5, result.output
    assert result.stderr.startswith(f"Error: {tmp_path / 't.md'}:2: {message}")


def test_a_pandoc_title_list_without_a_main_title_keeps_its_subtitle(tmp_path: Path) -> None:
    (tmp_path / "t.md").write_text("---\ntitle:\n  - type: subtitle\n    text: Only a subtitle\n"
                                   "---\n\nBody.\n", encoding="utf-8")
    result = run_cli("build", tmp_path / "t.md", "-o", tmp_path / "out", "-f", "html")
    assert result.exit_code == 0, result.output
    page = html.fromstring((tmp_path / "out" / "t.html").read_bytes())
    assert page.xpath("string(//h1)") != "Only a subtitle"
    assert page.xpath("string(//p[@class='subtitle'])") == "Only a subtitle"


def test_front_matter_that_libyaml_reads_is_read(tmp_path: Path) -> None:
    """A question mark inside a flow list, which libyaml reads and PyYAML's own parser refuses."""
    article = tmp_path / "q.md"
    article.write_text("---\ntitle: Q\nsubjects: [Who won?, Pokrovsk]\n---\n\nText.\n",
                       encoding="utf-8")
    result = run_cli("build", article, "-o", tmp_path / "out", "-f", "epub")
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "out" / "q.epub") as epub:
        opf = epub.read("EPUB/content.opf").decode("utf-8")
    assert "<dc:subject>Who won?</dc:subject>" in opf


def test_a_link_to_another_file_keeps_its_text_with_a_warning(tmp_path: Path) -> None:
    """Its address went without a word, even under --strict."""
    (tmp_path / "a.md").write_text("# A\n\nSee [the other](two.md) and [the file](files/doc.pdf).\n",
                                   encoding="utf-8")
    result = run_cli("build", tmp_path / "a.md", "-o", tmp_path, "-f", "html")
    assert result.exit_code == 0, result.output
    assert [line.split(": ", 2)[-1] for line in result.output.splitlines() if line.startswith("Warning")] == [
        f"link to {name!r} leads out of the web, mail and this article, which is all a book can open; "
        "its text is kept" for name in ("two.md", "files/doc.pdf")]
    page = html.fromstring((tmp_path / "a.html").read_bytes())
    assert [(a.text, a.get("href")) for a in page.iter("a") if a.text in ("the other", "the file")] == [
        ("the other", None), ("the file", None)]
    assert run_cli("build", tmp_path / "a.md", "-o", tmp_path / "strict", "--strict").exit_code == 10


def test_hugo_s_toml_front_matter_is_read(tmp_path: Path) -> None:
    """It was printed as the first paragraph, and the title came from the file's name."""
    (tmp_path / "post.md").write_text('+++\ntitle = "Hugo post"\ndate = 2025-03-04T10:30:00+02:00\n'
                                      'tags = ["war", "maps"]\n+++\nBody text.\n', encoding="utf-8")
    result = run_cli("build", tmp_path / "post.md", "-o", tmp_path, "-f", "html")
    assert result.exit_code == 0, result.output
    page = html.fromstring((tmp_path / "post.html").read_bytes())
    assert page.findtext(".//title") == "Hugo post"
    assert [p.text_content() for p in page.iter("p") if "+++" in p.text_content()] == []
    assert page.find(".//time").get("datetime") == "2025-03-04"
    assert page.find(".//meta[@name='keywords']").get("content") == "war, maps"
    (tmp_path / "bad.md").write_text('+++\ntitle = "Hugo\ndate = 2025\n+++\nBody.\n', encoding="utf-8")
    result = run_cli("build", tmp_path / "bad.md", "-o", tmp_path / "out")
    assert result.exit_code == 5 and result.output.startswith(f"Error: {tmp_path / 'bad.md'}:2: invalid TOML")
    assert not (tmp_path / "out").exists()


def test_text_struck_out_with_two_tildes_is_deleted_text(tmp_path: Path) -> None:
    (tmp_path / "s.md").write_text("# S\n\nThis is ~~wrong~~ right; ~one~ tilde and `~~code~~` stay.\n",
                                   encoding="utf-8")
    result = run_cli("build", tmp_path / "s.md", "-o", tmp_path, "-f", "html")
    assert result.exit_code == 0, result.output
    paragraph = html.fromstring((tmp_path / "s.html").read_bytes()).find(".//div[@class='body']/p")
    assert [element.text for element in paragraph.iter("del")] == ["wrong"]
    assert paragraph.text_content() == "This is wrong right; ~one~ tilde and ~~code~~ stay."
