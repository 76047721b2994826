"""Pages an editor would sign off: the seed, a magazine piece and a book, in every style.

The check reads the PDF's text boxes (``layout.py``); margins are given explicitly so the
text area it expects does not come from the code under test.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pdfplumber
import pytest
from lxml import etree
from PIL import Image

from conftest import SEED, run_cli
from layout import MM, Margins, article_openers, layout_faults

# Nine editions laid out and read glyph by glyph: with the heavy suites.
pytestmark = pytest.mark.slow

MARGINS = Margins(22, 18, 26, 24)
MARGIN_OPTION = "22mm 18mm 26mm 24mm"
STYLES = ("classic", "modern", "large-print")
LONG_TITLE = ("The Long Quiet of the River Towns, and What the Harbour Masters Kept in Their "
              "Ledgers Through Three Long Winters of Flood and Drought")
PARAGRAPH = ("The quarterly review looked at every district, line by line, and found what the "
             "editors had suspected for months, and a little more besides. ") * 4


def magazine_piece(folder: Path) -> Path:
    """A piece with footnotes, a tall figure, definitions, a 60-row table and a wide figure."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (900, 1400), (180, 200, 220)).save(folder / "tall.png")
    Image.new("RGB", (1200, 600), (220, 200, 170)).save(folder / "wide.png")
    rows = "\n".join(f"| Row {i} | {i * 37 % 101} | {'Some text' if i % 3 else 'Short'} |"
                     for i in range(1, 61))
    path = folder / "river.md"
    path.write_text(f"""---
title: {LONG_TITLE}
author: [Maria Kovalenko, Jonathan Reed]
date: Spring 2024
---

{PARAGRAPH}[^1]

## The towns along the lower reaches of the river, where the ferries stopped running

{PARAGRAPH}

![The harbour at dawn, seen from the old customs house](tall.png)

{PARAGRAPH}[^2]

Term one
:   The definition of the first term.

## The numbers

{PARAGRAPH}

Table: Readings by district

| District | Reading | Note |
|---|---:|---|
{rows}

{PARAGRAPH}

![A wide view of the valley](wide.png)

{PARAGRAPH}

[^1]: The first note: Annual report, 2023, page 12.
[^2]: A second note, which explains the method in more detail than the text does.
""", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """The seed, the magazine piece and a book of both, as PDFs (and EPUBs) in each style."""
    folder = tmp_path_factory.mktemp("layout")
    river = magazine_piece(folder / "src")
    built = {}
    for style in STYLES:
        out = folder / style
        for name, args in (("seed", [SEED]), ("river", [river]),
                           ("book", [SEED, river, "--book", "Collected Dispatches"])):
            result = run_cli("build", *args, "-o", out / name, "--style", style, "--page-size", "A5",
                             "--margins", MARGIN_OPTION, "-f", "pdf", "-f", "epub")
            assert result.exit_code == 0, result.output
            (pdf,) = (out / name).glob("*.pdf")
            built[(name, style)] = pdf
    return built


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", ["seed", "river", "book"])
def test_pages_have_nothing_an_editor_would_send_back(
        editions: dict[tuple[str, str], Path], name: str, style: str) -> None:
    pdf = editions[(name, style)]
    openers = article_openers(pdf) if name == "book" else frozenset()
    minimum = 14.0 if style == "large-print" else 0.0
    assert layout_faults(pdf, MARGINS, min_size=minimum, no_head=openers) == []


def test_the_check_finds_faults(editions: dict[tuple[str, str], Path]) -> None:
    """Claimed margins wider than the real ones, and type under 20 pt, are both caught."""
    faults = layout_faults(editions[("seed", "classic")], Margins(40, 40, 40, 40), min_size=20)
    assert any("outside the text area" in fault for fault in faults)
    assert any("under 20 pt" in fault for fault in faults)


def test_running_heads_name_the_title_and_the_section_in_force(
        editions: dict[tuple[str, str], Path]) -> None:
    with pdfplumber.open(editions[("river", "classic")]) as pdf:
        heads, glyphs = [], []
        for page in pdf.pages[1:]:
            line = [c for c in page.chars if c["bottom"] <= MARGINS.top * MM + 1.5]
            heads.append("".join(c["text"] for c in sorted(line, key=lambda c: c["x0"])))
            glyphs.append(len(line))
    left, right = heads[0::2], heads[1::2]  # pages 2, 4, ... and 3, 5, ...
    assert all(head.startswith("The Long Quiet of the River Towns") for head in left), left
    # Shortened to one line: an ellipsis glyph stands for the rest (its text, for extraction).
    assert all(count < len(left[0]) for count in glyphs[0::2]), glyphs
    assert {"The numbers"} <= set(right) and all(head for head in right), right


def test_a_figure_leaves_no_more_than_a_third_of_a_page_blank(tmp_path: Path) -> None:
    Image.new("RGB", (800, 1600), (90, 120, 150)).save(tmp_path / "tall.png")
    (tmp_path / "fig.md").write_text(f"# Figure\n\n{PARAGRAPH}\n\n{PARAGRAPH}\n\n"
                                     f"![A tall picture](tall.png)\n\n{PARAGRAPH}\n",
                                     encoding="utf-8")
    result = run_cli("build", tmp_path / "fig.md", "-o", tmp_path, "-f", "pdf", "--page-size", "A5",
                     "--margins", MARGIN_OPTION)
    assert result.exit_code == 0, result.output
    with pdfplumber.open(tmp_path / "fig.pdf") as pdf:
        area_bottom = pdf.pages[0].height - MARGINS.bottom * MM
        area = area_bottom - MARGINS.top * MM
        pages = [(page.images, [c for c in page.chars if c["top"] < area_bottom]) for page in pdf.pages]
    image_page = next(i for i, (images, _) in enumerate(pages) if images)
    assert pages[image_page][0][0]["height"] > area / 4  # still a picture, not a stamp
    if image_page:
        text = pages[image_page - 1][1]
        assert area_bottom - max(c["bottom"] for c in text) <= area / 3


def _marker_words(epub: Path) -> dict[int, str]:
    """The first words after each page-break marker of the EPUB's content documents."""
    words = {}
    with zipfile.ZipFile(epub) as package:
        for name in package.namelist():
            if not name.endswith(".xhtml") or "nav" in name or "cover" in name:
                continue
            root = etree.fromstring(package.read(name))
            for marker in root.iterfind(".//{*}span[@role='doc-pagebreak']"):
                following = "".join(marker.xpath("following::text()")[:12])
                words[int(marker.get("aria-label"))] = " ".join(following.split()[:3])
    return words


@pytest.mark.parametrize("style", STYLES)
def test_page_list_markers_sit_where_the_pages_begin(
        editions: dict[tuple[str, str], Path], style: str) -> None:
    pdf = editions[("river", style)]
    words = _marker_words(pdf.with_suffix(".epub"))
    with pdfplumber.open(pdf) as document:
        for number, page in enumerate(document.pages, start=1):
            if number == 1:
                continue
            body = page.within_bbox((0, MARGINS.top * MM + 1.5, page.width,
                                     page.height - MARGINS.bottom * MM - 1.5))
            text = body.extract_text() or ""
            if re.match(r"\s*District\s+Reading\s+Note", text, re.IGNORECASE):  # a table's repeated header
                text = text.split("\n", 1)[1]
            expected = " ".join(text.split()[:3])
            if not expected:
                assert page.images, f"page {number} holds neither text nor an image"
                continue
            assert words.get(number, "").startswith(expected[:12]), (number, words.get(number), text)
