"""Each style's EPUB as readers see it: opened in epub.js (a real reading engine) in Chromium,
on phones and a tablet, at the reader's own text size, light and dark.

The EPUBs are served from a loopback HTTP server to a bare reading page
(tests/engines/epubjs.html); tests/engines/measure.js reads the rendered chapter: every
table cell inside one page, note sizes and numbers, tap targets, captioned figures, colours.
Screenshots are kept in .readers/screenshots/ for a person to look at.  epub.js comes from
npm, pinned, into .readers/ (see .ci/run).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from conftest import ROOT, SEED, run_cli, serving
from validators import ace_program, ace_violations, chromium, epubcheck_messages

READERS = Path(os.environ.get("EXPORTER_READERS_DIR", ROOT / ".readers"))
SHOTS = ROOT / ".readers" / "screenshots"
ENGINES = Path(__file__).parent / "engines"
FIELD_REPORT = Path(__file__).parent / "data" / "field-report.md"
SCRIPTS = {"epub.min.js": "epubjs/dist/epub.min.js", "jszip.min.js": "jszip/dist/jszip.min.js"}
STYLES = ("classic", "modern", "large-print")
VIEWPORTS = {"phone-390": (390, 844), "phone-360": (360, 780), "tablet-820": (820, 1180)}
#: The dark theme of tests/engines/epubjs.html: what the book's text must take on.
DARK_TEXT, DARK_PAGE = "rgb(238, 238, 238)", "rgb(17, 17, 17)"
#: WCAG 2.2's minimum target size (2.5.8), in CSS pixels.
TARGET_PX = 24

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not all((READERS / "node_modules" / path).is_file()
                               for path in SCRIPTS.values()) or not Path(chromium()).exists(),
                       reason="epub.js needs npm's epubjs and jszip in .readers/ and Chromium "
                              "(see .ci/run)"),
]


def _chart(path: Path) -> None:
    """A bar chart of crews a week, for the field report's figure."""
    image = Image.new("RGB", (640, 360), "white")
    draw = ImageDraw.Draw(image)
    for index, height in enumerate((120, 150, 180, 210)):
        draw.rectangle((60 + index * 140, 330 - height, 140 + index * 140, 330), fill=(40, 90, 160))
    image.save(path)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every style's EPUB of the seed and the field report, beside the engine and its page."""
    folder = tmp_path_factory.mktemp("engines")
    articles = folder / "articles"
    articles.mkdir()
    shutil.copy(FIELD_REPORT, articles)
    _chart(articles / "crews.png")
    for style in STYLES:
        result = run_cli("build", SEED, articles / FIELD_REPORT.name, "-f", "epub", "--style", style,
                         "-o", folder / style, "-j", "1")
        assert result.exit_code == 0, result.output
    for name, path in SCRIPTS.items():
        shutil.copy(READERS / "node_modules" / path, folder / name)
    shutil.copy(ENGINES / "epubjs.html", folder)
    return folder


@pytest.fixture(scope="module")
def served(books: Path) -> Iterator[str]:
    """The folder of books, served on the loopback interface."""

    with serving(books) as address:
        yield address.rstrip("/")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def read(browser: Any, base: str, style: str, book: str, viewport: str, size: str = "100%",
         theme: str = "light", root: str = "", shots: tuple[str, ...] = ()) -> dict[str, Any]:
    """Open *book* of *style* in epub.js and measure its article; screenshot the places *shots*
    names (``start``, ``table``, ``figure``, ``notes``)."""
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{base}/epubjs.html?book={style}/{book}.epub&size={size}&theme={theme}"
                  f"&root={root}&at=article.xhtml")
        assert page.evaluate("window.shown") == "shown"
        page.wait_for_timeout(200)  # (fonts and the last relayout)
        measured: dict[str, Any] = page.evaluate((ENGINES / "measure.js").read_text(encoding="utf-8"))
        SHOTS.mkdir(parents=True, exist_ok=True)
        selectors = {"start": "h1", "table": "tbody tr", "figure": "figure", "notes": "aside"}
        for shot in shots:
            cfi = page.evaluate("s => { const c = rendition.getContents()[0]; const e = "
                                "c.document.querySelector(s); return e && c.cfiFromNode(e); }",
                                selectors[shot])
            if cfi:
                page.evaluate("cfi => rendition.display(cfi)", cfi)
                page.wait_for_timeout(150)
            name = f"{book}-{style}-{viewport}-{size.rstrip('%')}-{theme}{'-root' if root else ''}"
            page.screenshot(path=SHOTS / f"{name}-{shot}.png")
    finally:
        page.close()
    assert errors == [], errors
    return measured


CASES = [(style, viewport, size, theme) for style in STYLES for viewport in VIEWPORTS
         for size in ("100%", "150%") for theme in ("light", "dark")]


@pytest.mark.parametrize("book", ["field-report", "pokrovsk"])
@pytest.mark.parametrize("style,viewport,size,theme", CASES)
def test_what_a_reader_sees(browser: Any, served: str, book: str, style: str, viewport: str,
                            size: str, theme: str) -> None:
    """Every cell on a page, notes numbered and full size, targets tappable, figures captioned,
    the reader's theme followed."""
    shots = ("table", "figure", "notes") if theme == "light" or viewport == "phone-360" else ()
    seen = read(browser, served, style, book, viewport, size, theme, shots=shots)
    assert seen["cells"] > 0
    assert seen["cut"] == [], f"{len(seen['cut'])} of {seen['cells']} cells cut: {seen['cut'][:5]}"
    assert set(seen["aligned"]) <= {"as written"}, seen["aligned"]
    assert not [head for head in seen["heads"] if head["alone"]], seen["heads"]
    if style == "large-print":
        assert seen["smaller"] == []
    assert [note["text"].split(".")[0] for note in seen["notes"]] == [
        str(number) for number in range(1, len(seen["notes"]) + 1)]
    assert all(note["ratio"] >= 0.85 for note in seen["notes"]), seen["notes"]
    small = [t for t in seen["targets"] if t["width"] < TARGET_PX or t["height"] < TARGET_PX]
    assert small == []
    if book == "field-report":
        assert seen["aligned"] and seen["targets"] and seen["notes"]
        assert seen["figures"] == [{
            "caption": "Crews dispatched per week", "seen": True,
            "alt": "A bar chart of crews dispatched per week, rising from 120 in early November "
                   "to 210 by its end"}]
    if theme == "dark":
        assert seen["colours"] == [DARK_TEXT] and seen["background"] == DARK_PAGE


@pytest.mark.parametrize("root", ["", "100%", "150%"])
def test_large_print_stays_large_whatever_the_root_size(browser: Any, served: str, root: str) -> None:
    """Large print is 1.25 × classic or more, when the reading system sets the root size too."""
    sizes = {style: read(browser, served, style, "pokrovsk", "phone-390", "150%", root=root,
                         shots=("start",) if root else ())["body"]
             for style in ("classic", "large-print")}
    assert sizes["large-print"] >= 1.25 * sizes["classic"], sizes


def test_the_readers_text_size_is_followed(browser: Any, served: str) -> None:
    plain, larger = (read(browser, served, "classic", "pokrovsk", "phone-390", size)["body"]
                     for size in ("100%", "150%"))
    assert larger == pytest.approx(1.5 * plain)


def test_the_books_read_are_valid(books: Path) -> None:
    """What the engine showed passes EPUBCheck, and DAISY Ace where it is installed."""
    for epub in sorted(books.glob("*/*.epub")):
        assert epubcheck_messages(epub) == [], epub
    if ace_program() is not None:
        for style in STYLES:
            assert ace_violations(books / style / "field-report.epub") == ("pass", [])


def test_a_tall_figure_fits_a_phone_screen(browser: Any, tmp_path: Path) -> None:
    """A 600 × 2400 figure was 1,372 px tall on a 375 × 667 phone; it keeps its proportions."""
    Image.new("RGB", (600, 2400), (90, 120, 160)).save(tmp_path / "tall.png")
    (tmp_path / "tall.md").write_text("# Tall\n\nBefore.\n\n![A very tall chart](tall.png)\n\nAfter.\n",
                                      encoding="utf-8")
    result = run_cli("build", tmp_path / "tall.md", "-o", tmp_path, "-f", "html")
    assert result.exit_code == 0, result.output
    page = browser.new_page(viewport={"width": 375, "height": 667})
    try:
        page.goto((tmp_path / "tall.html").as_uri())
        box = page.locator("figure img").bounding_box()
    finally:
        page.close()
    assert box["height"] <= 0.9 * 667 + 1 and abs(box["width"] / box["height"] - 0.25) < 0.01, box
