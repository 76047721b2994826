"""Page geometry of the PDF edition: sizes in the MediaBox, margin errors, mirrored margins, folios."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2 as pdfium
import pytest

from conftest import SEED, run_cli
from exporter.geometry import GeometryError, page_geometry, parse_margins, parse_page_size
from exporter.pipeline import build

PT_PER_MM = 72 / 25.4

#: Expected trim sizes in PostScript points, written out from the standards, not from the code.
SIZES_PT = {
    "A4": (595.276, 841.890),
    "A5": (419.528, 595.276),
    "B5": (498.898, 708.661),
    "Letter": (612.0, 792.0),
    "6x9in": (432.0, 648.0),
    "5.5x8.5in": (396.0, 612.0),
    "170x240mm": (481.890, 680.315),
    "7x10in": (504.0, 720.0),
}

MIRROR_MARGINS = "20mm 15mm 20mm 30mm"  # top, outer, bottom, inner


def _long_article(folder: Path, copies: int = 2) -> Path:
    """The seed article with its body repeated, so the PDF runs to several full pages."""
    front, body = SEED.read_text(encoding="utf-8").split("\n---\n", 1)
    path = folder / "long.md"
    path.write_text(front + "\n---\n" + body * copies, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pdf_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build the seed's PDF at a page size on first request; reuse it within the module."""
    built: dict[str, Path] = {}

    def get(size: str) -> Path:
        if size not in built:
            out = tmp_path_factory.mktemp("size")
            build(SEED, out, formats=["pdf"], page_size=size)
            built[size] = out / "pokrovsk.pdf"
        return built[size]

    return get


@pytest.fixture(scope="module")
def mirrored_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A several-page A4 PDF built by the CLI with distinct inner and outer margins."""
    folder = tmp_path_factory.mktemp("mirror")
    source = _long_article(folder)
    result = run_cli("build", source, "-o", folder / "dist", "-f", "pdf",
                     "--margins", MIRROR_MARGINS)
    assert result.exit_code == 0, result.output
    return folder / "dist" / "long.pdf"


@pytest.fixture(scope="module")
def trade_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A several-page 6x9in PDF with the default margins."""
    folder = tmp_path_factory.mktemp("trade")
    source = _long_article(folder)
    build(source, folder, formats=["pdf"], page_size="6x9in")
    return folder / "long.pdf"


@pytest.fixture()
def document(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The PDF named by the test's parameter (a fixture name), opened with PDFium."""
    pdf = pdfium.PdfDocument(request.getfixturevalue(request.param))
    yield pdf
    pdf.close()


# --- Sizes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES_PT))
def test_page_size_sets_mediabox(pdf_for: Callable[[str], Path], size: str) -> None:
    expected_width, expected_height = SIZES_PT[size]
    with pikepdf.open(pdf_for(size)) as pdf:
        assert len(pdf.pages) >= 1
        for number, page in enumerate(pdf.pages, start=1):
            x0, y0, x1, y1 = (float(value) for value in page.mediabox)
            assert (x0, y0) == pytest.approx((0, 0), abs=0.5)
            assert x1 - x0 == pytest.approx(expected_width, abs=0.5), f"{size} page {number}"
            assert y1 - y0 == pytest.approx(expected_height, abs=0.5), f"{size} page {number}"


@pytest.mark.parametrize(("spelling", "size"), [
    ("a4", "A4"), (" A5 ", "A5"), ("b5", "B5"), ("US Letter", "Letter"), ("us-letter", "Letter"),
    ("6X9IN", "6x9in"), ("5.5 x 8.5 in", "5.5x8.5in"), ("170 × 240 mm", "170x240mm"),
    ("17x24cm", "170x240mm"), ("170X240MM", "170x240mm"), ("504x720pt", "7x10in"),
    ("7inx254mm", "7x10in"),
])
def test_page_size_spellings(spelling: str, size: str) -> None:
    width, height = parse_page_size(spelling)
    assert (width * PT_PER_MM, height * PT_PER_MM) == pytest.approx(SIZES_PT[size], abs=0.5)


@pytest.mark.parametrize(("margins", "expected"), [
    ("20mm", (20, 20, 20, 20)),
    ("20mm 15mm", (20, 15, 20, 15)),
    ("20mm 15mm 25mm", (20, 15, 25, 15)),
    ("20mm 15mm 25mm 30mm", (20, 15, 25, 30)),
    ("2cm, 0.5in 72pt 1CM", (20, 12.7, 25.4, 10)),
])
def test_margin_shorthand(margins: str, expected: tuple[float, ...]) -> None:
    assert parse_margins(margins, 148) == pytest.approx(expected)


# --- Errors through the command line -------------------------------------------------------------


BAD_OPTIONS = [
    ("--page-size", "A9"),
    ("--page-size", "170x240"),
    ("--page-size", "170x240furlong"),
    ("--page-size", "10x10mm"),
    ("--page-size", "3000x3000mm"),
    ("--page-size", "0x0in"),
    ("--page-size", ""),
    ("--margins", "20"),
    ("--margins", "twenty"),
    ("--margins", "-5mm"),
    ("--margins", "10mm 10mm 10mm 10mm 10mm"),
    ("--margins", "120mm"),
    ("--margins", "20mm 100mm 20mm 100mm"),
    ("--margins", ""),
    ("--margins", "0mm"),
    ("--margins", "4.9mm 20mm"),
    ("--margins", "60mm"),
]


@pytest.mark.parametrize(("margins", "says"), [
    ("0mm", "under 5 mm"), ("-5mm", "is negative"), ("3pt", "under 5 mm"),
    ("60mm", "less than half"), ("20mm 70mm", "less than half"),
])
def test_margins_that_harm_the_page_say_why(margins: str, says: str) -> None:
    with pytest.raises(GeometryError, match=says):
        page_geometry("A4", margins)


def test_margins_of_five_millimetres_are_accepted_beside_the_text() -> None:
    assert page_geometry("A4", "6mm 5mm").outer == pytest.approx(5)


@pytest.mark.parametrize(("head", "needed"), [(9, "5.3 mm"), (14, "7.4 mm")])
def test_top_and_bottom_margins_hold_the_running_heads(head: float, needed: str) -> None:
    with pytest.raises(GeometryError, match=needed):
        page_geometry("A4", "5mm", head)
    assert page_geometry("A4", f"{needed[:-3]}mm 5mm", head).top == pytest.approx(float(needed[:-3]))


@pytest.mark.parametrize(("option", "value"), BAD_OPTIONS)
def test_bad_geometry_fails_cleanly(tmp_path: Path, option: str, value: str) -> None:
    out = tmp_path / "dist"
    result = run_cli("build", SEED, "-o", out, "-f", "pdf", f"{option}={value}")
    assert result.exit_code not in (0, 1), result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("value", [value for option, value in BAD_OPTIONS if option == "--page-size"])
def test_bad_page_size_raises_geometry_error(value: str) -> None:
    with pytest.raises(GeometryError) as caught:
        page_geometry(value, None)
    assert caught.value.exit_code == 2


# --- Mirrored margins ------------------------------------------------------------------------------


def _body_extent(page: Any, top_mm: float, bottom_mm: float) -> tuple[float, float]:
    """Leftmost and rightmost ink of the text between the top and bottom margins, in mm."""
    _width, height = page.get_size()
    text = page.get_textpage()
    lefts, rights = [], []
    for index in range(text.count_chars()):
        if text.get_text_range(index, 1).isspace():
            continue
        left, bottom, right, top = text.get_charbox(index)
        if bottom > bottom_mm * PT_PER_MM and top < height - top_mm * PT_PER_MM:
            lefts.append(left)
            rights.append(right)
    text.close()
    assert lefts, "no body text found on the page"
    return min(lefts) / PT_PER_MM, max(rights) / PT_PER_MM


@pytest.mark.parametrize("document", ["mirrored_pdf"], indirect=True)
def test_inner_and_outer_margins_mirror(document: Any) -> None:
    assert len(document) >= 4, "the article should run to several pages"
    width_mm = document[0].get_size()[0] / PT_PER_MM
    assert width_mm == pytest.approx(210, abs=0.2)
    top, outer, bottom, inner = 20, 15, 20, 30
    for number in range(1, len(document)):
        left_edge, right_edge = _body_extent(document[number - 1], top, bottom)
        if number % 2 == 0:  # a left-hand page: the spine is on its right
            expected_left, expected_right = outer, width_mm - inner
        else:  # a right-hand page: the spine is on its left
            expected_left, expected_right = inner, width_mm - outer
        assert left_edge == pytest.approx(expected_left, abs=0.6), f"page {number} left"
        assert right_edge == pytest.approx(expected_right, abs=1.5), f"page {number} right"
    # Pages 2 and 3 face each other: text shifted by inner - outer, away from the spine.
    left_page = _body_extent(document[1], top, bottom)
    right_page = _body_extent(document[2], top, bottom)
    assert right_page[0] - left_page[0] == pytest.approx(inner - outer, abs=0.6)


# --- Folios -------------------------------------------------------------------------------------


def _margin_lines(page: Any, top_mm: float, bottom_mm: float) -> list[tuple[str, float]]:
    """Each text line in the top and bottom margins, with its horizontal centre in mm."""
    _width, height = page.get_size()
    text = page.get_textpage()
    lines: list[tuple[str, float]] = []
    for index in range(text.count_rects()):
        left, bottom, right, top = text.get_rect(index)
        centre_y = (bottom + top) / 2
        if bottom_mm * PT_PER_MM < centre_y < height - top_mm * PT_PER_MM:
            continue  # body text
        words = text.get_text_bounded(left, bottom, right, top).strip()
        if words:
            lines.append((words, (left + right) / 2 / PT_PER_MM))
    text.close()
    return lines


@pytest.mark.parametrize(("document", "margins", "size"), [
    ("mirrored_pdf", MIRROR_MARGINS, "A4"),
    ("trade_pdf", None, "6x9in"),
], indirect=["document"])
def test_folios_on_every_page_but_the_first(document: Any, margins: str | None, size: str) -> None:
    geometry = page_geometry(size, margins)
    assert len(document) >= 3
    first = _margin_lines(document[0], geometry.top, geometry.bottom)
    assert not [words for words, _x in first if re.search(r"\d", words)], \
        f"the opening page has a folio: {first}"
    for number in range(2, len(document) + 1):
        lines = _margin_lines(document[number - 1], geometry.top, geometry.bottom)
        folios = [x for words, x in lines if words == str(number)]
        assert len(folios) == 1, f"page {number}: margin text {lines}"
        page_text = document[number - 1].get_textpage()
        assert str(number) in page_text.get_text_bounded().split()
        page_text.close()
        # Folios sit in the outer corner: left on left-hand (even) pages, right on right-hand.
        if number % 2 == 0:
            assert folios[0] < geometry.width / 2, f"page {number} folio not on the outside"
        else:
            assert folios[0] > geometry.width / 2, f"page {number} folio not on the outside"
