"""Readers' editions: accessible by the real checkers (DAISY Ace, EPUBCheck), tagged PDF,
a page list that matches the PDF, a cover, and every style checked."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
from lxml import etree
from lxml import html as lxml_html
from PIL import Image

from conftest import ROOT, SEED, run_cli
from validators import ace_program, ace_violations, epubcheck_messages, pdf_fonts, pdf_text

XHTML = "{http://www.w3.org/1999/xhtml}"
OPS = "{http://www.idpf.org/2007/ops}"
needs_ace = pytest.mark.skipif(ace_program() is None,
                               reason="DAISY Ace needs Node, @daisy/ace and Chromium (see .ci/run)")

FOOTNOTES = """---
title: Notes from the Front
author: [Olena Petrenko, Mark Hale]
date: 2025-10-01
language: en
description: A multi-section report with footnotes.
---

Opening paragraph with a note.[^one]

## First section

Text that cites a second source.[^two]

### A subsection

- one
- two

## Second section

Closing words.

<div class="footnote"><ol><li>Raw HTML that looks like a list of notes.</li></ol></div>

[^one]: The first note, with *emphasis*.
[^two]: The second note, with a list.

    - one point
    - another
"""


def _article_with_image(folder: Path) -> Path:
    Image.new("RGB", (320, 200), (40, 90, 160)).save(folder / "map.png")
    source = folder / "with-image.md"
    source.write_text("---\ntitle: A Map\ndate: 2025-11-04\n---\n\nBefore.\n\n"
                      "![Map of the front line near Pokrovsk](map.png)\n\nAfter.\n",
                      encoding="utf-8")
    return source


@pytest.fixture(scope="module")
def variety(tmp_path_factory: pytest.TempPathFactory,
            seed_editions: dict[str, Path]) -> dict[str, Path]:
    """EPUBs of a footnoted article, an illustrated article, and the seed in each style (the
    default style's is the session's seed EPUB)."""
    folder = tmp_path_factory.mktemp("variety")
    notes = folder / "notes.md"
    notes.write_text(FOOTNOTES, encoding="utf-8")
    image = _article_with_image(folder)
    books = {}
    for name, source in (("notes", notes), ("image", image)):
        result = run_cli("build", source, "-o", folder / name, "-f", "epub", "-f", "pdf")
        assert result.exit_code == 0, result.output
        books[name] = folder / name / f"{source.stem}.epub"
    german = folder / "notes-de.md"
    german.write_text(FOOTNOTES.replace("language: en", "language: de-AT"), encoding="utf-8")
    result = run_cli("build", german, "-o", folder / "notes-de", "-f", "epub", "-f", "html")
    assert result.exit_code == 0, result.output
    books["notes-de"] = folder / "notes-de" / "notes-de.epub"
    books["classic"] = seed_editions["epub"]
    for style in ("modern", "large-print"):
        result = run_cli("build", SEED, "-o", folder / style, "--style", style, "-f", "epub")
        assert result.exit_code == 0, result.output
        books[style] = folder / style / "pokrovsk.epub"
    return books


@pytest.mark.slow
@needs_ace
def test_ace_passes_on_the_seed(seed_editions: dict[str, Path]) -> None:
    outcome, failed = ace_violations(seed_editions["epub"])
    assert (outcome, failed) == ("pass", [])


@pytest.mark.slow
@needs_ace
@pytest.mark.parametrize("name", ["notes", "notes-de", "image", "modern", "large-print"])
def test_ace_passes_on_every_kind_of_book(variety: dict[str, Path], name: str) -> None:
    outcome, failed = ace_violations(variety[name])
    assert (outcome, failed) == ("pass", [])


@pytest.mark.parametrize("name", ["notes", "notes-de", "image", "classic", "modern", "large-print"])
def test_epubcheck_is_clean_on_every_kind_of_book(variety: dict[str, Path], name: str) -> None:
    assert epubcheck_messages(variety[name]) == []


def test_accessibility_metadata(seed_editions: dict[str, Path]) -> None:
    with zipfile.ZipFile(seed_editions["epub"]) as book:
        opf = book.read("EPUB/content.opf").decode()
    for needed in ("schema:accessMode", "schema:accessModeSufficient",
                   "schema:accessibilityHazard", "schema:accessibilitySummary",
                   ">structuralNavigation<", ">tableOfContents<", ">readingOrder<",
                   ">alternativeText<", "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"):
        assert needed in opf, needed


def test_footnotes_become_epub3_footnotes(variety: dict[str, Path]) -> None:
    with zipfile.ZipFile(variety["notes"]) as book:
        root = etree.fromstring(book.read("EPUB/article.xhtml"))
        nav = etree.fromstring(book.read("EPUB/nav.xhtml"))
    asides = [a for a in root.iter(f"{XHTML}aside") if a.get(f"{OPS}type") == "footnote"]
    refs = [a for a in root.iter(f"{XHTML}a") if a.get(f"{OPS}type") == "noteref"]
    assert len(asides) == 2 and len(refs) == 2
    ids = {aside.get("id") for aside in asides}
    assert {ref.get("href", "").lstrip("#") for ref in refs} == ids
    back = [a for a in root.iter(f"{XHTML}a") if a.get("role") == "doc-backlink"]
    assert len(back) == 2
    toc = next(n for n in nav.iter(f"{XHTML}nav") if n.get(f"{OPS}type") == "toc")
    assert len(toc.findall(f".//{XHTML}ol/{XHTML}li/{XHTML}ol/{XHTML}li/{XHTML}ol/{XHTML}li")) == 1


def test_the_words_editions_add_are_in_the_article_s_language(variety: dict[str, Path]) -> None:
    def words(name: str) -> list[str]:
        with zipfile.ZipFile(variety[name]) as book:
            nav, article, cover = (etree.fromstring(book.read(f"EPUB/{part}.xhtml"))
                                   for part in ("nav", "article", "cover"))
        headings = [str(h.xpath("string()")) for h in nav.iter(f"{XHTML}h1", f"{XHTML}h2")]
        return [*headings, *(a.text for a in nav.iter(f"{XHTML}a") if a.get(f"{OPS}type") == "cover"),
                *(h.text for h in article.iter(f"{XHTML}h2") if h.get("class") == "footnotes-title"),
                next(cover.iter(f"{XHTML}img")).get("alt")]

    assert words("notes") == ["Contents", "Landmarks", "Pages", "Cover", "Notes",
                              "Cover: Notes from the Front, by Olena Petrenko and Mark Hale"]
    assert words("notes-de") == ["Inhalt", "Orientierungspunkte", "Seiten", "Umschlag", "Anmerkungen",
                                 "Umschlag: Notes from the Front, von Olena Petrenko und Mark Hale"]
    page = lxml_html.fromstring(variety["notes-de"].with_suffix(".html").read_bytes())
    assert page.find_class("authors")[0].text_content() == "Olena Petrenko und Mark Hale"
    assert [a.get("title") for a in page.find_class("footnote-backref")] == [
        "Zurück zur Anmerkung 1", "Zurück zur Anmerkung 2"]


def test_image_without_alt_text_is_an_error(tmp_path: Path) -> None:
    Image.new("RGB", (10, 10)).save(tmp_path / "x.png")
    source = tmp_path / "noalt.md"
    source.write_text("# T\n\nText.\n\n![](x.png)\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out")
    assert result.exit_code == 4
    assert result.stderr.startswith(f"Error: {source}:5:") and "alt text" in result.stderr
    assert not (tmp_path / "out").exists()


def test_page_list_matches_the_pdf_pages(seed_editions: dict[str, Path]) -> None:
    with zipfile.ZipFile(seed_editions["epub"]) as book:
        root = etree.fromstring(book.read("EPUB/article.xhtml"))
        nav = book.read("EPUB/nav.xhtml").decode()
        opf = book.read("EPUB/content.opf").decode()
    markers = [span for span in root.iter(f"{XHTML}span") if span.get(f"{OPS}type") == "pagebreak"]
    pages = len(pikepdf.open(seed_editions["pdf"]).pages)
    assert [m.get("aria-label") for m in markers] == [str(n) for n in range(1, pages + 1)]
    assert 'epub:type="page-list"' in nav and 'href="article.xhtml#page-2"' in nav
    assert "pageBreakSource" in opf and "the PDF edition built from the same source" in opf
    for marker in markers[1:]:
        following = (marker.tail or "").split()[:4] or ["".join(marker.getnext().itertext())]
        page_text = pdf_text(seed_editions["pdf"], "-f", marker.get("aria-label"),
                             "-l", marker.get("aria-label"))
        # The first line is the running head, when the page has one.
        lines = [line.strip().lstrip("•◦▪–- ") for line in page_text.splitlines() if line.strip()]
        starts = [" ".join(lines[skip:]) for skip in (0, 1)]
        assert any(s.startswith(" ".join(following)) for s in starts), (following, lines[:2])


def test_the_epub_is_the_same_whatever_else_is_built(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The page list is laid out for an EPUB built alone; --no-page-list (or the defaults file's
    page-list = false) leaves it out."""
    built = {}
    for name, args in (("alone", ["-f", "epub"]), ("beside", ["-f", "epub", "-f", "pdf"]),
                       ("without", ["-f", "epub", "--no-page-list"])):
        result = run_cli("build", SEED, "-o", tmp_path / name, *args)
        assert result.exit_code == 0, result.output
        built[name] = (tmp_path / name / "pokrovsk.epub").read_bytes()
    assert built["alone"] == built["beside"] != built["without"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exporter.toml").write_text("page-list = false\n", encoding="utf-8")
    assert run_cli("build", SEED, "-o", tmp_path / "toml", "-f", "epub").exit_code == 0
    assert (tmp_path / "toml" / "pokrovsk.epub").read_bytes() == built["without"]
    for name, listed in (("alone", True), ("without", False)):
        with zipfile.ZipFile(tmp_path / name / "pokrovsk.epub") as book:
            assert (b'epub:type="page-list"' in book.read("EPUB/nav.xhtml")) is listed
            assert (b"pageBreakSource" in book.read("EPUB/content.opf")) is listed


def test_every_note_opens_with_its_number_as_its_back_link(variety: dict[str, Path]) -> None:
    with zipfile.ZipFile(variety["notes"]) as book:
        root = etree.fromstring(book.read("EPUB/article.xhtml"))
    asides = [a for a in root.iter(f"{XHTML}aside") if a.get(f"{OPS}type") == "footnote"]
    for number, aside in enumerate(asides, start=1):
        links = [a for a in aside.iter(f"{XHTML}a") if a.get("role") == "doc-backlink"]
        assert len(links) == 1 and links[0].text == str(number)
        assert "".join(aside.itertext()).strip().startswith(f"{number}. ")
        ref = root.find(f".//*[@id='{links[0].get('href', '').lstrip('#')}']")
        assert ref is not None and ref.find(f"{XHTML}a").get("href") == f"#{aside.get('id')}"


def test_figures_and_column_alignment_reach_every_edition(tmp_path: Path) -> None:
    """An image alone is a figure captioned by its title; ``--:`` right-aligns, ``:-:`` centres."""
    Image.new("RGB", (320, 200), (40, 90, 160)).save(tmp_path / "crews.png")
    cells = [("aa", "bb"), ("much longer words", "centred text here"), ("mid", "ctr"), ("xx", "yy")]
    rows = "\n".join(f"| row {n} | {right} | {centre} |" for n, (right, centre) in enumerate(cells))
    source = tmp_path / "aligned.md"
    source.write_text("# Aligned\n\n| Name | Right | Centre |\n|:--|--:|:-:|\n" + rows + "\n\n"
                      '![Crews at work](crews.png "Crews dispatched per week")\n', encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "out" / "aligned.epub") as book:
        epub = etree.fromstring(book.read("EPUB/article.xhtml"))
        css = book.read("EPUB/styles/book.css").decode()
    page = lxml_html.fromstring((tmp_path / "out" / "aligned.html").read_bytes())
    for root, q in ((epub, XHTML), (page, "")):
        classes = [cell.get("class") for cell in root.iter(f"{q}td")][:3]
        assert classes == ["align-left", "align-right", "align-center"]
        assert not any(cell.get("style") for cell in root.iter(f"{q}td"))
        figure = root.find(f".//{q}figure")
        assert figure.findtext(f"{q}figcaption") == "Crews dispatched per week"
        assert figure.find(f"{q}img").get("alt") == "Crews at work"
    assert ".align-right { text-align: right; }" in css
    assert "Crews dispatched per week" in pdf_text(tmp_path / "out" / "aligned.pdf")
    with pdfplumber.open(tmp_path / "out" / "aligned.pdf") as pdf:
        words = pdf.pages[0].extract_words()
    found = {word["text"]: word for word in words}
    assert len({round(found[word]["x1"]) for word in ("aa", "words", "mid", "xx")}) == 1
    assert len({round(found[word]["x0"] + found[word]["x1"]) for word in ("bb", "ctr", "yy")}) == 1


def test_cover_image_and_page(seed_editions: dict[str, Path]) -> None:
    with zipfile.ZipFile(seed_editions["epub"]) as book:
        opf = book.read("EPUB/content.opf").decode()
        cover = etree.fromstring(book.read("EPUB/cover.xhtml"))
        image = Image.open(book.open("EPUB/images/cover.jpg"))
    item = next(line for line in opf.splitlines() if 'properties="cover-image"' in line)
    assert 'href="images/cover.jpg"' in item and 'media-type="image/jpeg"' in item
    img = cover.find(f".//{XHTML}img")
    assert img is not None and "The Battle for Pokrovsk" in img.get("alt", "")
    assert image.size[1] > image.size[0]
    assert opf.index('idref="cover"') < opf.index('idref="article1"')


def test_pdf_is_tagged_pdf_ua(seed_editions: dict[str, Path]) -> None:
    with pikepdf.open(seed_editions["pdf"]) as pdf:
        assert "/StructTreeRoot" in pdf.Root
        assert bool(pdf.Root.MarkInfo.Marked)
        assert str(pdf.Root.Lang) == "en"
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)
        xmp = pdf.open_metadata()
        assert xmp.get("pdfuaid:part") == "1"
        kinds = set()

        def walk(node: pikepdf.Object, depth: int = 0) -> None:
            if depth > 50:
                return
            if isinstance(node, pikepdf.Dictionary) and "/S" in node:
                kinds.add(str(node.S))
            kids = node.get("/K") if isinstance(node, pikepdf.Dictionary) else None
            if isinstance(kids, pikepdf.Array):
                for kid in kids:
                    walk(kid, depth + 1)
            elif isinstance(kids, pikepdf.Dictionary):
                walk(kids, depth + 1)

        walk(pdf.Root.StructTreeRoot)
    assert {"/H1", "/H2", "/P", "/L", "/LI", "/Table", "/TH", "/TD"} <= kinds, kinds


@pytest.mark.parametrize("style,family", [("classic", "Gentium"), ("modern", "Inter"),
                                          ("large-print", "Inter")])
def test_every_style_embeds_its_fonts(tmp_path: Path, style: str, family: str) -> None:
    result = run_cli("build", SEED, "-o", tmp_path, "-f", "pdf", "--style", style)
    assert result.exit_code == 0, result.output
    fonts = pdf_fonts(tmp_path / "pokrovsk.pdf")
    assert all(embedded for _, embedded in fonts) and any(family in n for n, _ in fonts)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_html_colours_meet_wcag_aa_in_light_and_dark_mode() -> None:
    css = (ROOT / "styles" / "screen.css").read_text(encoding="utf-8")
    pairs = re.findall(r"background:\s*(#[0-9a-f]{6});\s*color:\s*(#[0-9a-f]{6})", css)
    assert len(pairs) >= 2 and "prefers-color-scheme: dark" in css
    for background, text in pairs:
        light, dark = sorted((_luminance(background), _luminance(text)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (background, text)


def test_front_matter_names_the_cover(tmp_path: Path) -> None:
    Image.new("RGB", (600, 900), (120, 30, 30)).save(tmp_path / "front.jpg", quality=90)
    source = tmp_path / "covered.md"
    source.write_text("---\ntitle: Covered\ncover: front.jpg\n---\n\nText.\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out", "-f", "epub")
    assert result.exit_code == 0, result.output
    epub = tmp_path / "out" / "covered.epub"
    with zipfile.ZipFile(epub) as book:
        assert book.read("EPUB/images/cover.jpg") == (tmp_path / "front.jpg").read_bytes()
        assert 'properties="cover-image"' in book.read("EPUB/content.opf").decode()
    assert epubcheck_messages(epub) == []
    missing = tmp_path / "missing.md"
    missing.write_text("---\ntitle: M\ncover: nowhere.png\n---\n\nText.\n", encoding="utf-8")
    refused = run_cli("build", missing, "-o", tmp_path / "out2")
    assert refused.exit_code == 6 and "nowhere.png" in refused.stderr
    assert not (tmp_path / "out2").exists()


def test_authors_are_joined_in_the_article_s_language_else_with_an_ampersand(tmp_path: Path) -> None:
    for language, joined in (("en-GB", "Anna Berg and Jan Kurz"), ("fr", "Anna Berg et Jan Kurz"),
                             ("sv", "Anna Berg & Jan Kurz")):
        source = tmp_path / f"{language}.md"
        source.write_text(f"---\ntitle: T\nlanguage: {language}\nauthor: [Anna Berg, Jan Kurz]\n---\n\n"
                          "Text.\n", encoding="utf-8")
        result = run_cli("build", source, "-o", tmp_path, "-f", "html")
        assert result.exit_code == 0, result.output
        page = lxml_html.fromstring(source.with_suffix(".html").read_bytes())
        assert page.find_class("authors")[0].text_content() == joined


def test_a_right_to_left_article_is_set_right_to_left(tmp_path: Path) -> None:
    """Arabic was laid out left to right: no dir on the page, no progression on the spine, and
    the PDF's headings at the left edge of right-aligned text."""
    import pdfplumber

    source = tmp_path / "ar.md"
    source.write_text("---\ntitle: معركة بوكروفسك\nlanguage: ar\n---\n\n"
                      "تستمر المعركة في المدينة منذ أشهر.\n\n## القسم الأول\n\nنص آخر هنا.\n",
                      encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert '<html lang="ar" dir="rtl"' in (tmp_path / "ar.html").read_text(encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "ar.epub") as book:
        assert 'page-progression-direction="rtl"' in book.read("EPUB/content.opf").decode()
        assert etree.fromstring(book.read("EPUB/article.xhtml")).get("dir") == "rtl"
    assert epubcheck_messages(tmp_path / "ar.epub") == []
    with pdfplumber.open(tmp_path / "ar.pdf") as pdf:
        lines = pdf.pages[0].extract_text_lines()
    ends = [round(line["x1"]) for line in lines if line["text"].strip()]
    assert max(ends) - min(ends) <= 2, lines  # (every line ends at the right margin)
