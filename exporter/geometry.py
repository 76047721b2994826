"""Page sizes and margins for the PDF edition, parsed from the options' strings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageProblem

#: Named sizes in millimetres (width, height), by name in lower case without spaces or hyphens.
PRESETS: dict[str, tuple[float, float]] = {
    "a4": (210, 297), "a5": (148, 210), "b5": (176, 250), "letter": (215.9, 279.4),
    "usletter": (215.9, 279.4), "6x9in": (152.4, 228.6), "5.5x8.5in": (139.7, 215.9),
}
_TO_MM = {"mm": 1.0, "cm": 10.0, "in": 25.4, "pt": 25.4 / 72}
_NUMBER_AND_UNIT = r"(\d+(?:\.\d+)?)\s*(mm|cm|in|pt)"
#: The narrowest margin accepted: printers cannot print to the edge, and folios sit in it.
MIN_MARGIN_MM = 5.0
#: Which of the given lengths is top, outer, bottom and inner, as in CSS's ``margin``.
_SHORTHAND = {1: (0, 0, 0, 0), 2: (0, 1, 0, 1), 3: (0, 1, 2, 1), 4: (0, 1, 2, 3)}


def head_size_pt(style: str) -> float:
    """The type size of a style's running heads and folios (styles/paged.css, large-print.css)."""
    return 14 if style == "large-print" else 9


class GeometryError(UsageProblem):
    """A page size or margin the tool cannot read."""


@dataclass(frozen=True)
class PageGeometry:
    """Trim size and margins in millimetres; inner and outer mirror on facing pages."""

    width: float
    height: float
    top: float
    outer: float
    bottom: float
    inner: float

    def page_css(self) -> str:
        """``@page`` rules for this geometry."""
        return (
            f"@page {{ size: {self.width:g}mm {self.height:g}mm; "
            f"margin: {self.top:g}mm {self.outer:g}mm {self.bottom:g}mm {self.inner:g}mm; }}\n"
            f"@page :left {{ margin-left: {self.outer:g}mm; margin-right: {self.inner:g}mm; }}\n"
            f"@page :right {{ margin-left: {self.inner:g}mm; margin-right: {self.outer:g}mm; }}\n"
        )


def parse_page_size(value: str) -> tuple[float, float]:
    """A preset name (A4, A5, B5, Letter, 6x9in, 5.5x8.5in) or ``WIDTHxHEIGHT`` with units."""
    key = re.sub(r"[\s_-]", "", value.lower())
    if key in PRESETS:
        return PRESETS[key]
    match = re.fullmatch(rf"\s*(\d+(?:\.\d+)?)\s*(mm|cm|in|pt)?\s*[x×]\s*{_NUMBER_AND_UNIT}\s*",
                         value, re.IGNORECASE)
    if not match:
        raise GeometryError(f"page size {value!r} is not one of A4, A5, B5, Letter, 6x9in, 5.5x8.5in "
                            "nor WIDTHxHEIGHT with units (mm, cm, in, pt), e.g. 170x240mm")
    width = float(match.group(1)) * _TO_MM[(match.group(2) or match.group(4)).lower()]
    height = float(match.group(3)) * _TO_MM[match.group(4).lower()]
    if not (50 <= width <= 2000 and 50 <= height <= 2000):
        raise GeometryError(f"page size {value!r} is outside 50 mm to 2 m")
    return round(width, 3), round(height, 3)


def parse_margins(value: str | None, width: float) -> tuple[float, float, float, float]:
    """CSS-like margins: one to four lengths (top, outer, bottom, inner); default by page width."""
    if value is None:
        side = max(12.0, round(width * 0.14, 1))
        return round(side * 1.1, 1), side, round(side * 1.3, 1), side
    lengths = []
    for part in value.replace(",", " ").split():
        match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(mm|cm|in|pt)\s*", part, re.IGNORECASE)
        if not match:
            raise GeometryError(f"margin {part!r} needs a unit, e.g. 20mm, 2cm, 0.75in or 54pt")
        length = float(match.group(1)) * _TO_MM[match.group(2).lower()]
        if length < 0:
            raise GeometryError(f"margin {part!r} is negative; margins are lengths of 5 mm or more")
        if length < MIN_MARGIN_MM:
            raise GeometryError(f"margin {part!r} is under 5 mm: printers cannot print there, "
                                "and the running heads and folios would be cut")
        lengths.append(length)
    if len(lengths) not in _SHORTHAND:
        raise GeometryError("margins take one to four lengths: top outer bottom inner")
    top, outer, bottom, inner = (lengths[index] for index in _SHORTHAND[len(lengths)])
    return top, outer, bottom, inner


def page_geometry(page_size: str, margins: str | None, head_size_pt: float = 9) -> PageGeometry:
    """The :class:`PageGeometry` of the options; the top and bottom margins must fit running heads
    and folios of *head_size_pt* and 1.5 mm of paper beyond them."""
    width, height = parse_page_size(page_size)
    top, outer, bottom, inner = parse_margins(margins, width)
    band = max(MIN_MARGIN_MM, round(head_size_pt * 1.2 * 25.4 / 72 + 1.5, 1))
    if min(top, bottom) < band:
        raise GeometryError(f"margins {margins!r} leave no room for running heads and folios of "
                            f"{head_size_pt:g} pt: the top and bottom margins need {band:g} mm")
    if (width - outer - inner) * (height - top - bottom) < width * height / 2:
        raise GeometryError(f"margins {margins!r} leave less than half of the {page_size} page "
                            "for the text")
    return PageGeometry(width, height, top, outer, bottom, inner)
