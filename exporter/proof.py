"""Proofs of a PDF for editors: one PNG per page (PDFium) and a contact sheet of spreads (Pillow).

All are made before any is written, so a PDF that fails to render leaves old proofs as they were.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from .errors import ProofError, reason
from .output import write_all_atomic

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
_TITLE_HEIGHT = 44
_BACKGROUND, _BORDER, _INK, _MUTED = (236, 235, 232), (120, 120, 120), (51, 51, 51), (110, 110, 110)


@dataclass(frozen=True)
class ProofResult:
    """The files one proof run wrote: one image per page, in order, and the contact sheet."""

    pages: tuple[Path, ...]
    contact_sheet: Path


def write_proofs(pdf: Path, out_dir: Path, dpi: int = 60) -> ProofResult:
    """Render every page of *pdf* to ``out_dir/<stem>-pNNN.png`` and draw ``<stem>-contact.png``."""
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise ProofError(f"resolution {dpi!r} dpi is outside {MIN_DPI} to {MAX_DPI}")
    pdf, out_dir = Path(pdf), Path(out_dir)
    sizes, pages, thumbnails = _render_pages(pdf, dpi)
    digits = max(3, len(str(len(pages))))
    files = [(out_dir / f"{pdf.stem}-p{number:0{digits}d}.png", png)
             for number, png in enumerate(pages, start=1)]
    width, height = (size * 25.4 / 72 for size in sizes[0])
    description = f"{len(pages)} page{'s' if len(pages) != 1 else ''}, {width:.0f} \u00d7 {height:.0f} mm"
    sheet = out_dir / f"{pdf.stem}-contact.png"
    write_all_atomic([*files, (sheet, _png(_contact_sheet(thumbnails, pdf.name, description)))])
    keep = {path for path, _data in files}
    for path in out_dir.iterdir():  # pages of an earlier, longer run
        if (path.name.startswith(f"{pdf.stem}-p") and path not in keep
                and re.fullmatch(r"\d{3,}\.png", path.name[len(pdf.stem) + 2:])):
            with contextlib.suppress(OSError):
                path.unlink()
    return ProofResult(tuple(path for path, _data in files), sheet)


def page_images(pdf: bytes, dpi: int) -> list[tuple[bytes, int, int]]:
    """Each page of the PDF *pdf* (its bytes) as a PNG at *dpi* with its width and height in
    pixels, for the live preview."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped,unused-ignore]

    document = pdfium.PdfDocument(pdf)
    try:  # (closing the document closes its pages)
        images = [_render(document[index], dpi / 72) for index in range(len(document))]
    finally:
        document.close()
    return [(_png(image, fast=True), image.width, image.height) for image in images]


def spreads(count: int) -> list[tuple[int | None, int | None]]:
    """Facing spreads of *count* pages as (left, right) numbers: page 1 alone on the right."""
    layout: list[tuple[int | None, int | None]] = [(None, 1)] if count >= 1 else []
    return layout + [(left, left + 1 if left < count else None) for left in range(2, count + 1, 2)]


def _contact_sheet(thumbnails: list[Image.Image], name: str, description: str) -> Image.Image:
    """All page thumbnails as facing spreads in a grid, each bordered and numbered, under a title."""
    slot = max(thumb.width for thumb in thumbnails) + 2  # + the border on each side
    tall = max(thumb.height for thumb in thumbnails) + 2
    layout = spreads(len(thumbnails))
    per_row = max(1, min(len(layout), (_MAX_SHEET_WIDTH - 2 * _MARGIN + _SPREAD_GAP)
                         // (2 * slot + _SPREAD_GAP)))
    title_font, label_font = _font(17), _font(13)
    grid_width = per_row * 2 * slot + (per_row - 1) * _SPREAD_GAP
    title = _title(name, description, title_font, max(grid_width, _MAX_SHEET_WIDTH // 2))
    width = 2 * _MARGIN + max(grid_width, int(title_font.getlength(title)) + 1)
    row_height = tall + _LABEL_HEIGHT + _ROW_GAP
    rows = -(-len(layout) // per_row)
    sheet = Image.new("RGB", (width, 2 * _MARGIN + _TITLE_HEIGHT + rows * row_height - _ROW_GAP),
                      _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((_MARGIN, _MARGIN), title, fill=_INK, font=title_font)
    for index, spread in enumerate(layout):
        row, column = divmod(index, per_row)
        gutter = _MARGIN + column * (2 * slot + _SPREAD_GAP) + slot
        y = _MARGIN + _TITLE_HEIGHT + row * row_height
        for number, is_left in zip(spread, (True, False), strict=True):
            if number is None:
                continue
            thumb = thumbnails[number - 1]
            box_w, box_h = thumb.width + 2, thumb.height + 2
            box_x = gutter - box_w if is_left else gutter
            box_y = y + tall - box_h  # pages of a spread share their foot
            sheet.paste(thumb, (box_x + 1, box_y + 1))
            draw.rectangle((box_x, box_y, box_x + box_w - 1, box_y + box_h - 1), outline=_BORDER)
            draw.text((box_x + box_w / 2, y + tall + 7), str(number), fill=_MUTED,
                      font=label_font, anchor="mt")
    return sheet


def _title(name: str, description: str, font: Any, room: float) -> str:
    """``name · description``, the name shortened in its middle until the line fits *room*."""
    title = f"{name} \u00b7 {description}"
    keep = len(name)
    while font.getlength(title) > room and keep > 8:
        keep -= 1
        head = (keep + 1) // 2
        title = f"{name[:head]}\u2026{name[len(name) - (keep - head):]} \u00b7 {description}"
    return title


def _render_pages(pdf: Path, dpi: int) -> tuple[list[tuple[float, float]], list[bytes],
                                                 list[Image.Image]]:
    """The page sizes in points of *pdf*, its pages as PNG at *dpi*, and their thumbnails."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped,unused-ignore]

    try:
        with pdf.open("rb") as stream:
            if b"%PDF-" not in stream.read(1024):
                raise ProofError("is not a PDF file (no %PDF- header)", path=pdf)
        document = pdfium.PdfDocument(pdf)
    except OSError as error:
        raise ProofError(reason(error), path=pdf) from None
    except pdfium.PdfiumError as error:
        if getattr(error, "err_code", None) == 4:  # FPDF_ERR_PASSWORD
            raise ProofError("is password-protected; proofs need an unlocked PDF",
                             path=pdf) from None
        raise ProofError(f"cannot be opened as a PDF ({error})", path=pdf) from None
    try:
        sizes = [document.get_page_size(index) for index in range(len(document))]
        if not sizes:
            raise ProofError("has no pages", path=pdf)
        for number, (width, height) in enumerate(sizes, start=1):
            if (pixels := (width * dpi / 72) * (height * dpi / 72)) > MAX_PIXELS:
                raise ProofError(f"page {number} would be {pixels / 1e6:.0f} megapixels at {dpi} "
                                 "dpi; ask for a lower resolution", path=pdf)
        # One scale for every thumbnail, so that pages keep their sizes relative to each other.
        thumb_scale = _THUMB_HEIGHT / max(height for _width, height in sizes)
        pages, thumbnails = [], []
        for index in range(len(sizes)):
            page = document[index]
            pages.append(_png(_render(page, dpi / 72)))
            thumbnails.append(_render(page, thumb_scale))
            page.close()
        return sizes, pages, thumbnails
    except pdfium.PdfiumError as error:
        raise ProofError(f"cannot be rendered ({error})", path=pdf) from None
    finally:
        document.close()


def _render(page: Any, scale: float) -> Image.Image:
    """One page as an RGB image at *scale* pixels per point, on white."""
    image: Image.Image = page.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
    return image  # (the bitmap is freed with its last reference)


def _png(image: Image.Image, fast: bool = False) -> bytes:
    """The PNG encoding of *image* (*fast*: less compressed, three times quicker)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1 if fast else 6)
    return buffer.getvalue()


def _font(size: int) -> Any:
    """The bundled Inter at *size* pixels."""
    from .resources import styles_dir

    return ImageFont.truetype(str(styles_dir() / "fonts" / "inter" / "Inter-Regular.otf"), size)
