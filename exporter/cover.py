"""A cover drawn from the title, authors, date and description with the bundled fonts: a
deterministic JPEG, so e-book shelves show a real cover instead of a blank page."""

from __future__ import annotations

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
#: Bold, italic and regular faces of the serif (classic) and sans styles.
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
    """The cover as JPEG bytes: title, rule, authors, date and description on a dark ground."""
    from PIL import Image, ImageDraw, ImageFont

    bold, italic, regular = (str(styles_dir() / "fonts" / name)
                             for name in _FACES["classic" if text.style == "classic" else "sans"])
    image = Image.new("RGB", (WIDTH, HEIGHT), _INK)
    draw = ImageDraw.Draw(image)
    size = 150  # smaller, down to 70, for a title of more than six lines
    font = ImageFont.truetype
    while len(_wrap(draw, text.title, font(bold, size), WIDTH - 2 * _MARGIN)) > 6 and size > 70:
        size -= 10
    y = _set(draw, 420, text.title, font(bold, size), 6, _PAPER, int(size * 1.18)) + 60
    draw.rectangle((_MARGIN, y, _MARGIN + 260, y + 10), fill=_ACCENT)
    y = _set(draw, y + 90, ", ".join(text.authors), font(regular, 64), 3, _PAPER, 84)
    y = _set(draw, y + (16 if text.authors else 0), text.date or "", font(regular, 56), 1, _ACCENT, 120)
    _set(draw, y, text.description or "", font(italic, 54), 9, _PAPER, 78)
    buffer = io.BytesIO()
    # JPEG: every reading system shows it, and light type on a dark ground keeps its edges at 4:2:0.
    image.save(buffer, format="JPEG", quality=85, subsampling=2)
    return buffer.getvalue()


def _set(draw: ImageDraw.ImageDraw, y: int, text: str, face: ImageFont.FreeTypeFont, count: int,
         fill: tuple[int, int, int], step: int) -> int:
    """Draw *text* from *y* down in at most *count* lines *step* apart; return the next *y*."""
    width = WIDTH - 2 * _MARGIN
    for line in _at_most(draw, _wrap(draw, text, face, width), count, face, width):
        draw.text((_MARGIN, y), line, font=face, fill=fill)
        y += step
    return y


def _at_most(draw: ImageDraw.ImageDraw, lines: list[str], count: int,
             face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """The first *count* of *lines*, the last ending in an ellipsis if any were left out
    (a cover is never cut at its edge)."""
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
    """Greedy line breaking of the first :data:`_LETTERS` letters by measured width; a word
    wider than a line is cut to fit."""
    lines: list[str] = []
    line = ""
    for word in text[:_LETTERS].split():
        while len(word) > 1 and draw.textlength(word, font=face) > width:
            low, high = 1, len(word) - 1  # the longest head that fits, by bisection
            while low < high:
                middle = (low + high + 1) // 2
                if draw.textlength(word[:middle], font=face) <= width:
                    low = middle
                else:
                    high = middle - 1
            lines += [line, word[:low]] if line else [word[:low]]
            line, word = "", word[low:]
        candidate = f"{line} {word}" if line else word
        if not line or draw.textlength(candidate, font=face) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    return [*lines, line] if line else lines
