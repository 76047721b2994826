"""Proofs of a PDF for editors: one PNG per page and a contact sheet of facing spreads.

Pages are rendered with PDFium (through ``pypdfium2``) and the sheet is drawn
with Pillow, both in process.  Every image is made in memory before the first
file is written, and each file is written atomically, so a PDF that fails to
render leaves the previous proofs as they were.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from .errors import ExporterError, ProofError, reason
from .output import write_atomic

#: Resolutions ``write_proofs`` accepts, in dots per inch.
MIN_DPI, MAX_DPI = 10, 600
#: The most pixels one page image may have (a poster page at a high resolution would exhaust memory).
MAX_PIXELS = 120_000_000

_THUMB_HEIGHT = 260  # height of a portrait page on the contact sheet, in pixels
_MAX_SHEET_WIDTH = 1700  # spreads per row are chosen to keep the sheet about this wide
_MARGIN = 32  # around the sheet's content
_SPREAD_GAP = 36  # between two spreads on a row
_ROW_GAP = 18  # between a row's page numbers and the next row's pages
_LABEL_HEIGHT = 26  # room under each page for its number
_BACKGROUND = (236, 235, 232)
_BORDER = (120, 120, 120)
_INK = (51, 51, 51)
_MUTED = (110, 110, 110)

_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_PAGE_NAME = re.compile(r"-p(\d{3,})\.png")


@dataclass(frozen=True)
class ProofResult:
    """The files one proof run wrote: one image per page, in order, and the contact sheet."""

    pages: tuple[Path, ...]
    contact_sheet: Path


@dataclass(frozen=True)
class _Page:
    """One rendered page: its size in points, its proof image as PNG, and its thumbnail."""

    number: int
    width_pt: float
    height_pt: float
    png: bytes
    thumbnail: Image.Image


def write_proofs(pdf: Path, out_dir: Path, dpi: int = 60) -> ProofResult:
    """Render every page of *pdf* to ``out_dir/<stem>-pNNN.png`` and draw ``<stem>-contact.png``."""
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not MIN_DPI <= dpi <= MAX_DPI:
        raise ProofError(f"resolution {dpi!r} dpi is outside {MIN_DPI} to {MAX_DPI}")
    pdf = Path(pdf)
    out_dir = Path(out_dir)
    pages = _render_pages(pdf, dpi)
    digits = max(3, len(str(len(pages))))
    encoded = [(out_dir / f"{pdf.stem}-p{page.number:0{digits}d}.png", page.png)
               for page in pages]
    sheet_path = out_dir / f"{pdf.stem}-contact.png"
    sheet = _png(_contact_sheet(pages, pdf.name, _describe(pages)))
    for path, data in encoded:
        write_atomic(path, data)
    write_atomic(sheet_path, sheet)
    _remove_stale_pages(out_dir, pdf.stem, {path for path, _data in encoded})
    return ProofResult(tuple(path for path, _data in encoded), sheet_path)


def page_images(pdf: bytes, dpi: int) -> list[tuple[bytes, int, int]]:
    """Each page of the PDF *pdf* (its bytes) as a PNG at *dpi*, with its width and height in
    pixels: for the live preview, which keeps them in memory."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped,unused-ignore]

    document = pdfium.PdfDocument(pdf)
    try:  # (closing the document closes its pages)
        images = [_render(document[index], dpi / 72) for index in range(len(document))]
    finally:
        document.close()
    return [(_png(image, fast=True), image.width, image.height) for image in images]


def spreads(count: int) -> list[tuple[int | None, int | None]]:
    """Facing spreads of *count* pages as (left, right) numbers: page 1 alone on the right."""
    layout: list[tuple[int | None, int | None]] = []
    if count >= 1:
        layout.append((None, 1))
    for left in range(2, count + 1, 2):
        layout.append((left, left + 1 if left + 1 <= count else None))
    return layout


def _contact_sheet(pages: Sequence[_Page], name: str, description: str) -> Image.Image:
    """All page thumbnails as facing spreads in a grid, each bordered and numbered, under a title."""
    slot = max(page.thumbnail.width for page in pages) + 2  # + the border on each side
    tall = max(page.thumbnail.height for page in pages) + 2
    layout = spreads(len(pages))
    spread_width = 2 * slot
    per_row = max(1, min(len(layout), (_MAX_SHEET_WIDTH - 2 * _MARGIN + _SPREAD_GAP)
                         // (spread_width + _SPREAD_GAP)))
    rows = -(-len(layout) // per_row)
    title_font, label_font = _font(17), _font(13)
    title_height = 44
    grid_width = per_row * spread_width + (per_row - 1) * _SPREAD_GAP
    title = _title(name, description, title_font, max(grid_width, _MAX_SHEET_WIDTH // 2))
    width = 2 * _MARGIN + max(grid_width, int(title_font.getlength(title)) + 1)
    row_height = tall + _LABEL_HEIGHT + _ROW_GAP
    height = _MARGIN + title_height + rows * row_height - _ROW_GAP + _MARGIN
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((_MARGIN, _MARGIN), title, fill=_INK, font=title_font)
    by_number = {page.number: page for page in pages}
    for index, (left, right) in enumerate(layout):
        row, column = divmod(index, per_row)
        x = _MARGIN + column * (spread_width + _SPREAD_GAP)
        y = _MARGIN + title_height + row * row_height
        gutter = x + slot
        for number, is_left in ((left, True), (right, False)):
            if number is None:
                continue
            thumb = by_number[number].thumbnail
            box_w, box_h = thumb.width + 2, thumb.height + 2
            box_x = gutter - box_w if is_left else gutter
            box_y = y + tall - box_h  # pages of a spread share their foot
            sheet.paste(thumb, (box_x + 1, box_y + 1))
            draw.rectangle((box_x, box_y, box_x + box_w - 1, box_y + box_h - 1), outline=_BORDER)
            draw.text((box_x + box_w / 2, y + tall + 7), str(number), fill=_MUTED,
                      font=label_font, anchor="mt")
    return sheet


def _title(name: str, description: str, font: _Font, room: float) -> str:
    """``name · description``, the name shortened in its middle until the line fits *room*."""
    title = f"{name} \u00b7 {description}"
    keep = len(name)
    while font.getlength(title) > room and keep > 8:
        keep -= 1
        head = (keep + 1) // 2
        title = f"{name[:head]}\u2026{name[len(name) - (keep - head):]} \u00b7 {description}"
    return title


def _render_pages(pdf: Path, dpi: int) -> list[_Page]:
    """Open *pdf* with PDFium and render each page at *dpi* and at thumbnail size."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped,unused-ignore]

    _check_header(pdf)
    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as error:
        if getattr(error, "err_code", None) == 4:  # FPDF_ERR_PASSWORD
            raise ProofError("is password-protected; proofs need an unlocked PDF",
                             path=pdf) from None
        raise ProofError(f"cannot be opened as a PDF ({error})", path=pdf) from None
    except OSError as error:
        raise ProofError(f"cannot read: {reason(error)}", path=pdf) from None
    try:
        return _render_document(document, pdf, dpi)
    except pdfium.PdfiumError as error:
        raise ProofError(f"cannot be rendered ({error})", path=pdf) from None
    finally:
        document.close()


def _render_document(document: Any, pdf: Path, dpi: int) -> list[_Page]:
    """Each page of an open PDFium *document*, rendered at *dpi* and at thumbnail size."""
    if len(document) == 0:
        raise ProofError("has no pages", path=pdf)
    sizes = [document.get_page_size(index) for index in range(len(document))]
    for number, (width_pt, height_pt) in enumerate(sizes, start=1):
        pixels = (width_pt * dpi / 72) * (height_pt * dpi / 72)
        if pixels > MAX_PIXELS:
            raise ProofError(f"page {number} would be {pixels / 1e6:.0f} megapixels at {dpi} dpi; "
                             "ask for a lower resolution", path=pdf)
    # One scale for every thumbnail, so that pages keep their sizes relative to each other.
    thumb_scale = _THUMB_HEIGHT / max(height for _width, height in sizes)
    pages = []
    for index, (width_pt, height_pt) in enumerate(sizes):
        page = document[index]
        try:
            pages.append(_Page(index + 1, width_pt, height_pt,
                               _png(_render(page, dpi / 72)), _render(page, thumb_scale)))
        finally:
            page.close()
    return pages


def _render(page: Any, scale: float) -> Image.Image:
    """One page as an RGB image at *scale* pixels per point, on white."""
    bitmap = page.render(scale=scale, may_draw_forms=True)
    try:
        image: Image.Image = bitmap.to_pil().convert("RGB")
    finally:
        bitmap.close()
    return image


def _check_header(pdf: Path) -> None:
    """Refuse a missing file, a folder, or a file with no ``%PDF-`` header."""
    try:
        with pdf.open("rb") as stream:
            head = stream.read(1024)
    except FileNotFoundError:
        raise ProofError("no such file", path=pdf) from None
    except IsADirectoryError:
        raise ProofError("is a folder, not a PDF file", path=pdf) from None
    except PermissionError:
        raise ProofError("permission denied", path=pdf) from None
    except OSError as error:
        raise ProofError(f"cannot read: {reason(error)}", path=pdf) from None
    if b"%PDF-" not in head:
        raise ProofError("is not a PDF file (no %PDF- header)", path=pdf)


def _png(image: Image.Image, fast: bool = False) -> bytes:
    """The PNG encoding of *image* (*fast*: less compressed, three times quicker)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1 if fast else 6)
    return buffer.getvalue()


def _describe(pages: Sequence[_Page]) -> str:
    """``3 pages, 210 × 297 mm`` (the first page's size)."""
    count = f"{len(pages)} page{'s' if len(pages) != 1 else ''}"
    first = pages[0]
    width, height = first.width_pt * 25.4 / 72, first.height_pt * 25.4 / 72
    return f"{count}, {width:.0f} \u00d7 {height:.0f} mm"


def _font(size: int) -> _Font:
    """The bundled Inter at *size* pixels, or Pillow's own font if it cannot be loaded."""
    try:
        from .resources import styles_dir

        return ImageFont.truetype(str(styles_dir() / "fonts" / "inter" / "Inter-Regular.otf"),
                                  size)
    except (ExporterError, OSError):
        return ImageFont.load_default(size)


def _remove_stale_pages(out_dir: Path, stem: str, keep: set[Path]) -> None:
    """Delete page images of *stem* left from an earlier, longer proof run."""
    prefix = f"{stem}-p"
    for path in out_dir.iterdir():
        if (path.name.startswith(prefix) and _PAGE_NAME.fullmatch(path.name[len(stem):])
                and path not in keep):
            with contextlib.suppress(OSError):
                path.unlink()
