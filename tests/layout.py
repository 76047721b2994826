"""A layout check that reads a PDF's text boxes (pdfplumber) the way an editor reads proofs.

Every character must lie in the page's text area, except the running head (one line
above it) and the folio (one line below it); in large print nothing is under 14 pt;
every page after the first carries a running head, unless it is blank or opens an
article of a book.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MM = 72 / 25.4
#: Glyph boxes may pass the text area by this much (italic overhang, rounding), in points.
SLACK = 1.5


@dataclass(frozen=True)
class Margins:
    """Margins in millimetres: top, outer, bottom, inner (inner on the spine side)."""

    top: float
    outer: float
    bottom: float
    inner: float


def layout_faults(pdf: Path, margins: Margins, *, min_size: float = 0.0,
                  no_head: frozenset[int] = frozenset()) -> list[str]:
    """Everything on *pdf*'s pages an editor would send back, one line each.

    *no_head* lists pages (from 1) that rightly have no running head (a book's openers).
    """
    import pdfplumber

    faults = []
    with pdfplumber.open(pdf) as document:
        for number, page in enumerate(document.pages, start=1):
            chars = [char for char in page.chars if char["text"].strip()]
            if not chars:
                continue  # a blank page
            # Odd pages are right-hand pages: their inner margin is on the left.
            left = (margins.inner if number % 2 else margins.outer) * MM
            right = page.width - (margins.outer if number % 2 else margins.inner) * MM
            top, bottom = margins.top * MM, page.height - margins.bottom * MM
            head = [char for char in chars if char["bottom"] <= top + SLACK]
            foot = [char for char in chars if char["top"] >= bottom - SLACK]
            for char in chars:
                where = f"page {number}: {char['text']!r} at x {char['x0']:.0f}-{char['x1']:.0f}"
                if char["x0"] < left - SLACK or char["x1"] > right + SLACK:
                    faults.append(f"{where}, outside the text area's {left:.0f}-{right:.0f}")
                elif char not in head and char not in foot and (
                        char["top"] < top - SLACK or char["bottom"] > bottom + SLACK):
                    faults.append(f"{where}, y {char['top']:.0f}: straddles the text area's edge")
                if char["size"] < min_size - 0.01:
                    faults.append(f"{where}: {char['size']:.1f} pt, under {min_size:g} pt")
            for name, line in (("running head", head), ("folio", foot)):
                if len({round(char["top"]) for char in line}) > 1:
                    faults.append(f"page {number}: the {name} takes more than one line")
            if number > 1 and number not in no_head and not head:
                faults.append(f"page {number}: no running head")
    return faults


def article_openers(pdf: Path) -> frozenset[int]:
    """The pages (from 1) the PDF's first two levels of bookmarks point to: a book's title
    page and the first page of each of its articles."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    pages = set()
    for entry in reader.outline:
        items = entry if isinstance(entry, list) else [entry]
        pages.update(reader.get_destination_page_number(item) + 1
                     for item in items if not isinstance(item, list))
    return frozenset(pages)
