"""Editors' print editions: books of several articles, contents, print-ready PDF/X, footnotes."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pikepdf
import pytest
from lxml import etree
from PIL import Image

from conftest import SEED, run_cli
from validators import epubcheck_messages, pdf_fonts, pdf_text

XHTML = "{http://www.w3.org/1999/xhtml}"
OPS = "{http://www.idpf.org/2007/ops}"
MM = 72 / 25.4

NOTE = """---
title: A Short Note
author: Jane Roe
date: 2025-11-12
---

A short piece whose claim needs a source.[^n]

## Only section

More text.

[^n]: The source of the claim, at the foot of its page.
"""


def _articles(folder: Path) -> list[Path]:
    first = folder / "a-pokrovsk.md"
    first.write_bytes(SEED.read_bytes())
    second = folder / "b-second.md"
    second.write_text(re.sub(r"(?m)^title: .*$", 'title: "Second Dispatch"',
                             SEED.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    third = folder / "c-note.md"
    third.write_text(NOTE, encoding="utf-8")
    return [first, second, third]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A three-article book, 6x9in, print edition."""
    folder = tmp_path_factory.mktemp("book")
    sources = _articles(folder)
    result = run_cli("build", *sources, "--book", "Dispatches from Donetsk", "--page-size", "6x9in",
                     "--edition", "print", "-o", folder / "out")
    assert result.exit_code == 0, result.output
    return {fmt: folder / "out" / f"dispatches-from-donetsk.{fmt}" for fmt in ("html", "epub", "pdf")}


def _page_texts(pdf: Path) -> list[str]:
    count = len(pikepdf.open(pdf).pages)
    return [pdf_text(pdf, "-f", str(n), "-l", str(n)) for n in range(1, count + 1)]


def test_book_epub_has_three_chapters_and_is_valid(book: dict[str, Path]) -> None:
    assert epubcheck_messages(book["epub"]) == []
    with zipfile.ZipFile(book["epub"]) as archive:
        nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
        names = archive.namelist()
    toc = next(n for n in nav.iter(f"{XHTML}nav") if n.get(f"{OPS}type") == "toc")
    chapters = toc.findall(f"{XHTML}ol/{XHTML}li")
    assert [c.findtext(f"{XHTML}a") for c in chapters] == [
        "The Battle for Pokrovsk: Russia Claims Gains as Ukraine Holds the Line",
        "Second Dispatch", "A Short Note"]
    assert all(c.find(f"{XHTML}ol") is not None for c in chapters)  # nested sections
    assert {f"EPUB/article-0{n}.xhtml" for n in (1, 2, 3)} <= set(names)


def test_book_contents_give_the_right_page_numbers(book: dict[str, Path]) -> None:
    pages = _page_texts(book["pdf"])
    # The entries as laid out: title, leader and number on one line.
    contents = next(pdf_text(book["pdf"], "-layout", "-f", str(n), "-l", str(n))
                    for n, text in enumerate(pages, 1) if "Contents" in text)
    for title in ("Second Dispatch", "A Short Note"):
        line = next(line for line in contents.splitlines() if title in line)
        listed = int(line.split()[-1])
        opening = next(n for n, text in enumerate(pages, 1)
                       if text.lstrip().startswith(title))
        assert listed == opening, (title, listed, opening)
        assert opening % 2 == 1, f"{title} opens on a left-hand page"
        assert not re.search(rf"^\s*{opening}\s*$", pages[opening - 1], re.M)


def test_running_heads_book_title_left_article_title_right(book: dict[str, Path]) -> None:
    titles = ("The Battle for Pokrovsk: Russia Claims Gains as Ukraine Holds the Line",
              "Second Dispatch", "A Short Note")
    pages = _page_texts(book["pdf"])
    # An article's opening page carries its byline (date) under the title, and no running head.
    openings = {n for n, text in enumerate(pages, 1) if "November 2025" in " ".join(
        text.split("\n")[:4])}
    body = [(n, text) for n, text in enumerate(pages, 1)
            if n not in openings and len(text.split()) > 20]
    left = [text for n, text in body if n % 2 == 0]
    right = [text for n, text in body if n % 2 == 1]
    assert left and all(text.lstrip().startswith("Dispatches from Donetsk\n") for text in left)
    assert right and all(text.lstrip().split("\n")[0] in titles for text in right)


def test_print_edition_is_pdf_x_with_bleed(book: dict[str, Path]) -> None:
    with pikepdf.open(book["pdf"]) as pdf:
        assert "/OutputIntents" in pdf.Root
        assert str(pdf.Root.OutputIntents[0].S) == "/GTS_PDFX"
        assert pdf.open_metadata().get("pdfxid:GTS_PDFXVersion") == "PDF/X-4"
        for page in pdf.pages:
            trim = [float(v) for v in page.TrimBox]
            bleed = [float(v) for v in page.BleedBox]
            gaps = [round(b - t, 1) for b, t in zip(bleed, trim, strict=True)]
            assert gaps == [round(-3 * MM, 1)] * 2 + [round(3 * MM, 1)] * 2
            assert round(trim[2] - trim[0]) == 6 * 72 and round(trim[3] - trim[1]) == 9 * 72
    assert all(embedded for _, embedded in pdf_fonts(book["pdf"]))


def test_print_edition_is_tagged_with_a_display_title(book: dict[str, Path]) -> None:
    with pikepdf.open(book["pdf"]) as pdf:
        assert pdf.Root.MarkInfo.Marked and "/StructTreeRoot" in pdf.Root
        assert pdf.Root.ViewerPreferences.DisplayDocTitle
    result = run_cli("check", book["pdf"])
    assert result.exit_code == 0 and "0 errors, 0 warnings" in result.output, result.output


def test_print_edition_is_reproducible(book: dict[str, Path], tmp_path: Path) -> None:
    sources = _articles(tmp_path)
    result = run_cli("build", *sources, "--book", "Dispatches from Donetsk", "--page-size", "6x9in",
                     "--edition", "print", "-o", tmp_path, "-f", "pdf")
    assert result.exit_code == 0
    assert (tmp_path / "dispatches-from-donetsk.pdf").read_bytes() == book["pdf"].read_bytes()


def test_footnote_sits_on_the_page_of_its_call(book: dict[str, Path]) -> None:
    pages = _page_texts(book["pdf"])
    page = next(text for text in pages if "whose claim needs a source" in text)
    assert "The source of the claim, at the foot of its page." in page
    assert page.index("whose claim") < page.index("The source of the claim")


def test_book_file_gives_order_and_metadata(tmp_path: Path) -> None:
    sources = _articles(tmp_path)
    book_file = tmp_path / "book.yaml"
    book_file.write_text(
        "title: Winter Reports\nauthor: The Desk\ndate: 2025-12-01\nlanguage: en\n"
        f"articles:\n  - {sources[2].name}\n  - {sources[0].name}\n", encoding="utf-8")
    result = run_cli("build", "--book", book_file, "-o", tmp_path / "out", "-f", "epub")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "out" / "winter-reports.epub") as archive:
        nav = archive.read("EPUB/nav.xhtml").decode()
        opf = archive.read("EPUB/content.opf").decode()
    assert nav.index("A Short Note") < nav.index("The Battle for Pokrovsk")
    assert "<dc:title>Winter Reports</dc:title>" in opf and "The Desk" in opf


def test_a_long_single_article_gets_contents_and_toc_can_be_turned_off(tmp_path: Path) -> None:
    on = run_cli("build", SEED, "-o", tmp_path / "on", "-f", "pdf")
    off = run_cli("build", SEED, "-o", tmp_path / "off", "-f", "pdf", "--no-toc")
    assert on.exit_code == off.exit_code == 0
    first_on = pdf_text(tmp_path / "on" / "pokrovsk.pdf", "-layout", "-f", "1", "-l", "1")
    first_off = pdf_text(tmp_path / "off" / "pokrovsk.pdf", "-f", "1", "-l", "1")
    assert "Contents" in first_on and "Contents" not in first_off
    line = next(line for line in first_on.splitlines() if "Looking Ahead" in line)
    page = int(line.split()[-1])
    heading_page = pdf_text(tmp_path / "on" / "pokrovsk.pdf", "-f", str(page), "-l", str(page))
    assert "Looking Ahead Amid Uncertainty" in heading_page


@contextlib.contextmanager
def _watching(*args: str | Path) -> Iterator[Callable[[str], str]]:
    """Run ``exporter build --watch`` with *args*; yield a function that waits for a stderr line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", "build", *map(str, args), "--watch"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr or []],
                              daemon=True)
    reader.start()

    def wait_for(text: str) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if text in line:
                return line
        raise AssertionError(f"no {text!r} line")

    try:
        wait_for("Watching")
        yield wait_for
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_watch_rebuilds_on_save(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text("# First\n\nText.\n", encoding="utf-8")
    with _watching(article, "-o", tmp_path / "out", "-f", "html") as wait_for:
        article.write_text("# Second\n\nText.\n", encoding="utf-8")
        assert "a.md: ok" in wait_for("Rebuilt")
        assert "<title>Second</title>" in (tmp_path / "out" / "a.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_a_kill_ends_watching_with_its_status(tmp_path: Path, number: int) -> None:
    """SIGTERM (a supervisor stopping --watch) exits 143 and SIGHUP (its terminal closed) 129,
    not 0 as a Ctrl-C does; no worker stays, and no worker's temporary files."""
    article = tmp_path / "a.md"
    article.write_text("# First\n\nText.\n", encoding="utf-8")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", "build", str(article), "-o", str(tmp_path / "out"),
         "-f", "pdf", "--watch"], stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(scratch)})
    assert process.stderr is not None
    while "Watching" not in (line := process.stderr.readline()):
        assert line, "no Watching line"
    process.send_signal(number)
    rest = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=30) == 128 + number, rest
    assert "Stopped watching." in rest
    listing = subprocess.run(["ps", "-eo", "sid="], capture_output=True, text=True, check=True)
    assert str(process.pid) not in listing.stdout.split()
    assert list(scratch.iterdir()) == []


def test_watch_takes_new_articles_and_edited_images(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    Image.new("RGB", (40, 20), (200, 0, 0)).save(folder / "photo.png")
    (folder / "a.md").write_text("# A\n\n![Red](photo.png)\n", encoding="utf-8")
    out = tmp_path / "out"
    with _watching(folder, "-o", out, "-f", "epub") as wait_for:
        (folder / "b.md").write_text("# B\n\nA new article.\n", encoding="utf-8")
        assert "b.md: ok" in wait_for("Rebuilt")
        assert (out / "b.epub").is_file()
        before = (out / "a.epub").read_bytes()
        Image.new("RGB", (40, 20), (0, 0, 200)).save(folder / "photo.png")
        wait_for("Rebuilt")
        assert (out / "a.epub").read_bytes() != before


def test_watch_of_a_book_file_follows_its_articles_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "old.md").write_text("# Old\n\nNot in the book.\n", encoding="utf-8")
    chapter = tmp_path / "a.md"
    chapter.write_text("# Chapter A\n\nText.\n", encoding="utf-8")
    (tmp_path / "book.yaml").write_text("title: Watched Book\narticles: [a.md]\n", encoding="utf-8")
    os.chdir(tmp_path)
    try:
        with _watching("--book", "book.yaml", "-o", "out", "-f", "html") as wait_for:
            (tmp_path / "content" / "new.md").write_text("# New\n\nText.\n", encoding="utf-8")
            chapter.write_text("# Chapter A, edited\n\nText.\n", encoding="utf-8")
            assert "book.yaml: ok" in wait_for("Rebuilt")
    finally:
        os.chdir(Path(__file__).parent)
    page = (tmp_path / "out" / "watched-book.html").read_text(encoding="utf-8")
    assert "Chapter A, edited" in page and "New" not in page and "Not in the book" not in page


def test_a_table_too_wide_for_the_page_keeps_every_column_on_it(tmp_path: Path) -> None:
    """Twelve columns of long words ran past the page's edge: columns 10 to 12 were lost on paper."""
    import pdfplumber

    header = "| " + " | ".join(f"Column{n} header" for n in range(12)) + " |"
    rows = ["| " + " | ".join(f"val{r}-{n} longishword" for n in range(12)) + " |" for r in range(3)]
    source = tmp_path / "wide.md"
    source.write_text("# Wide\n\n" + "\n".join([header, "|---" * 12 + "|", *rows]) + "\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path, "-f", "pdf")
    assert result.exit_code == 0, result.output
    with pdfplumber.open(tmp_path / "wide.pdf") as document:
        page = document.pages[0]
        assert max(char["x1"] for char in page.chars) < page.width
        text = page.extract_text().replace("\n", "").replace("\u2010", "")
    assert all(f"val2-{n}" in text for n in range(12)), text


def test_a_book_file_s_mistakes_are_warned_of(tmp_path: Path) -> None:
    """A misspelt key and a cover in book.yaml went without a word."""
    (tmp_path / "one.md").write_text("# One\n\nText.\n", encoding="utf-8")
    (tmp_path / "book.yaml").write_text("titel: X\ncover: cover.png\narticles: [one.md]\n", encoding="utf-8")
    result = run_cli("build", "--book", tmp_path / "book.yaml", "-o", tmp_path / "out", "-f", "html")
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("Warning")] == [
        f"Warning: {tmp_path / 'book.yaml'}: unknown front matter key 'titel' ignored",
        f"Warning: {tmp_path / 'book.yaml'}: a book draws its own cover from its title; "
        "'cover: cover.png' is not used"]
