"""A cover image drawn from the title, authors, date and description with the bundled fonts.

The picture is a deterministic JPEG (the same :class:`CoverText`, the same bytes),
so e-book shelves show a real cover instead of a blank page.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .resources import styles_dir

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

WIDTH, HEIGHT = 1600, 2400
_MARGIN = 150
_INK = (31, 42, 54)
_PAPER = (247, 243, 234)
_ACCENT = (201, 162, 90)
#: Letters of a title, author line or description set on the cover at most.
_LETTERS = 600
_FACES = {
    "classic": ("gentium-book-plus/GentiumBookPlus-Bold.ttf",
                "gentium-book-plus/GentiumBookPlus-Italic.ttf",
                "gentium-book-plus/GentiumBookPlus-Regular.ttf"),
    "sans": ("inter/Inter-Bold.otf", "inter/Inter-Regular.otf", "inter/Inter-Regular.otf"),
}


@dataclass(frozen=True)
class CoverText:
    """Everything a drawn cover shows, and its faces: all its pixels depend on."""

    title: str
    authors: tuple[str, ...] = ()
    #: The date as the edition writes it ("3 November 2025").
    date: str | None = None
    description: str | None = None
    #: The style whose faces it is set in: ``classic`` (serif), else the sans faces.
    style: str = "classic"


def draw_cover(text: CoverText) -> bytes:
    """The cover as JPEG bytes: title, rule, authors, date and description on a dark ground.

    A pure function of *text* and the bundled fonts: a session keeps the covers it drew.
    """
    from PIL import Image, ImageDraw

    bold, italic, regular = (str(styles_dir() / "fonts" / name)
                             for name in _FACES["classic" if text.style == "classic" else "sans"])
    font = functools.cache(_font)
    image = Image.new("RGB", (WIDTH, HEIGHT), _INK)
    draw = ImageDraw.Draw(image)
    width = WIDTH - 2 * _MARGIN

    title_size = 150
    title_lines = _wrap(draw, text.title, font(bold, title_size), width)
    while len(title_lines) > 6 and title_size > 70:
        title_size -= 10
        title_lines = _wrap(draw, text.title, font(bold, title_size), width)
    y = 420
    for line in _at_most(draw, title_lines, 6, font(bold, title_size), width):
        draw.text((_MARGIN, y), line, font=font(bold, title_size), fill=_PAPER)
        y += int(title_size * 1.18)
    y += 60
    draw.rectangle((_MARGIN, y, _MARGIN + 260, y + 10), fill=_ACCENT)
    y += 90
    # Past a few lines, text ends in an ellipsis: a cover is never cut at its edge.
    authors = _wrap(draw, ", ".join(text.authors), font(regular, 64), width)
    for line in _at_most(draw, authors, 3, font(regular, 64), width):
        draw.text((_MARGIN, y), line, font=font(regular, 64), fill=_PAPER)
        y += 84
    if text.authors:
        y += 16
    if text.date:
        (date,) = _at_most(draw, _wrap(draw, text.date, font(regular, 56), width), 1,
                           font(regular, 56), width)
        draw.text((_MARGIN, y), date, font=font(regular, 56), fill=_ACCENT)
        y += 120
    if text.description:
        description = _wrap(draw, text.description, font(italic, 54), width)
        for line in _at_most(draw, description, 9, font(italic, 54), width):
            draw.text((_MARGIN, y), line, font=font(italic, 54), fill=_PAPER)
            y += 78
    buffer = io.BytesIO()
    # JPEG, because every reading system shows JPEG covers and it encodes in milliseconds;
    # light type on a dark ground keeps its edges at 4:2:0.
    image.save(buffer, format="JPEG", quality=85, subsampling=2)
    return buffer.getvalue()


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A face of one bundled font at one size."""
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


def _at_most(draw: ImageDraw.ImageDraw, lines: list[str], count: int,
             face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """The first *count* of *lines*, the last ending in an ellipsis if any were left out."""
    if len(lines) <= count:
        return lines
    words = lines[count - 1].split()
    while len(words) > 1 and draw.textlength(" ".join(words) + "\u2026", font=face) > width:
        words.pop()
    last = " ".join(words).rstrip(",;:")
    while len(last) > 1 and draw.textlength(last + "\u2026", font=face) > width:
        last = last[:-1]  # one word, as wide as the line
    return [*lines[:count - 1], last + "\u2026"]


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont,
          width: int) -> list[str]:
    """Greedy line breaking by measured width; a word wider than a line is cut to fit.

    Only the first :data:`_LETTERS` letters are set: no cover shows more.
    """
    text = text[:_LETTERS]
    lines: list[str] = []
    line = ""
    for word in text.split():
        while len(word) > 1 and draw.textlength(word, font=face) > width:  # an overlong word
            low, high = 1, len(word) - 1  # the longest head that fits, by bisection
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (middle, high) if draw.textlength(word[:middle], font=face) <= width \
                    else (low, middle - 1)
            cut = low
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}" if line else word
        if not line or draw.textlength(candidate, font=face) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines
