"""A cover image drawn from the title, date and description with the bundled fonts.

The picture is a deterministic JPEG (the same :class:`CoverText`, the same
bytes), so e-book shelves show a real cover instead of a blank page.  A served
build has it drawn by a second process while it works (:mod:`exporter.painter`).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import io
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .resources import styles_dir

if TYPE_CHECKING:
    from PIL import ImageFont

WIDTH, HEIGHT = 1600, 2400
_MARGIN = 150
#: Blocks of Pillow's allocator kept for reuse: the canvas (one block: the default block
#: is 16 MiB) and the masks the type is set in, which are freed before it.
_CANVAS_BLOCKS = 8
_INK = (31, 42, 54)
_PAPER = (247, 243, 234)
_ACCENT = (201, 162, 90)
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


#: Pixel rows in one row of the JPEG's blocks (4:2:0): bands start on such a row.
BLOCK_ROWS = 16
#: The bands a cover is drawn and encoded in (see :mod:`exporter.jpeg_bands`).
BANDS = 2
#: The share of a cover's work in its first band.  A served build's painter draws the
#: second band while the build converts the Markdown; the build then draws the first,
#: unless the painter has started it, and writes it into the EPUB while the painter
#: finishes (see :mod:`exporter.painter`).
FIRST_SHARE = 0.45


@dataclass(frozen=True)
class PlacedLine:
    """One line of type, placed: where, what, in which face (a font file) and size and colour."""

    x: int
    y: int
    line: str
    face: str
    size: int
    fill: tuple[int, int, int]


@dataclass(frozen=True)
class Layout:
    """Where everything on a cover goes, and where its bands split."""

    lines: tuple[PlacedLine, ...]
    rule: tuple[int, int, int, int]
    #: First pixel row of each band but the first.
    splits: tuple[int, ...]

    def to_literal(self) -> str:
        """The layout as a Python literal (for another process: see :meth:`from_literal`)."""
        return repr(dataclasses.astuple(self))

    @classmethod
    def from_literal(cls, literal: str) -> Layout:
        """The layout :meth:`to_literal` wrote; ValueError for anything else."""
        try:
            lines, rule, splits = ast.literal_eval(literal)
            return cls(tuple(PlacedLine(*line) for line in lines), tuple(rule), tuple(splits))
        except Exception as error:  # (not a literal, or not of this shape)
            raise ValueError(f"not a cover layout: {type(error).__name__}") from None


def draw_cover(text: CoverText) -> bytes:
    """The cover as JPEG bytes: title, rule, authors, date and description on a dark ground."""
    from .jpeg_bands import join_bands

    return b"".join(join_bands((draw_band(text, band) for band in range(BANDS)), HEIGHT))


def draw_band(text: CoverText, band: int) -> bytes:
    """Band *band* of the cover (0: the top, a little under half the work) as a JPEG of its own.

    The bands can be drawn at once, by two processes; :func:`~exporter.jpeg_bands.join_bands`
    makes them the whole cover, byte for byte the JPEG of the picture drawn whole (but
    for type reaching more than an em beyond its line), wherever the bands split.
    """
    from PIL import Image, ImageDraw

    placed = layout(text)
    edges = (0, *placed.splits, HEIGHT)
    top, bottom = edges[band], edges[band + 1]
    # Keep the canvas's memory for the next cover: a process that builds many articles
    # (a batch worker, the build server) then skips mapping and zeroing it each time.
    allocator = Image.core  # type: ignore[attr-defined]  # (documented: "Block allocator")
    allocator.set_blocks_max(max(allocator.get_blocks_max(), _CANVAS_BLOCKS))
    image = Image.new("RGB", (WIDTH, bottom - top), _INK)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = placed.rule
    draw.rectangle((x0, y0 - top, x1, y1 - top), fill=_ACCENT)
    for item in placed.lines:
        # Type keeps within an em above and below its line: a line whose em-wide margins
        # cross no edge of the band is wholly in it or out of it; only one that straddles
        # an edge is measured (which costs as much as setting it). (A stack of combining
        # marks can reach further: it is cut at the band's edge, in every build alike.)
        near_top, near_bottom = item.y - item.size, item.y + 2 * item.size
        if near_bottom <= top or near_top >= bottom:
            continue
        face = font(item.face, item.size)
        if near_top < top or near_bottom > bottom:
            _, first, _, last = draw.textbbox((item.x, item.y), item.line, font=face)
            if last <= top or first >= bottom:
                continue
        # (Pillow clips what falls outside the band.)
        draw.text((item.x, item.y - top), item.line, font=face, fill=item.fill)
    buffer = io.BytesIO()
    # JPEG encodes in a few milliseconds, where a PNG this size takes 50 ms to 250 ms, and
    # every reader shows JPEG covers. Light type on a dark, nearly grey ground carries its
    # edges in brightness, so halving the colour resolution (4:2:0) looks the same at full
    # size and saves a quarter of the bytes and of the time. A restart marker after every
    # row of blocks lets the bands be joined (0.3 % more bytes).
    image.save(buffer, format="JPEG", quality=85, subsampling=2, restart_marker_rows=1)
    return buffer.getvalue()


#: Layouts made or received lately, by what they lay out (a process draws few covers).
_layouts: dict[CoverText, Layout] = {}


def layout(text: CoverText) -> Layout:
    """Where each line of *text* goes: title, rule, authors, date, description."""
    known = _layouts.get(text)
    return known if known is not None else remember_layout(text, _lay_out(text))


def remember_layout(text: CoverText, made: Layout) -> Layout:
    """Keep *made* as the layout of *text* (made here, or by another process); return it."""
    if len(_layouts) >= 8:
        _layouts.clear()
    _layouts[text] = made
    return made


def _lay_out(text: CoverText) -> Layout:
    bold, italic, regular = (str(styles_dir() / "fonts" / name)
                             for name in _FACES["classic" if text.style == "classic" else "sans"])
    width = WIDTH - 2 * _MARGIN
    lines: list[PlacedLine] = []

    title_size = 150
    title_lines = _wrap(text.title, font(bold, title_size), width)
    while len(title_lines) > 6 and title_size > 70:
        title_size -= 10
        title_lines = _wrap(text.title, font(bold, title_size), width)
    y = 420
    for line in title_lines:
        lines.append(PlacedLine(_MARGIN, y, line, bold, title_size, _PAPER))
        y += int(title_size * 1.18)
    y += 60
    rule = (_MARGIN, y, _MARGIN + 260, y + 10)
    y += 90
    if text.authors:
        lines.append(PlacedLine(_MARGIN, y, ", ".join(text.authors), regular, 64, _PAPER))
        y += 100
    if text.date:
        lines.append(PlacedLine(_MARGIN, y, text.date, regular, 56, _ACCENT))
        y += 120
    if text.description:
        for line in _wrap(text.description, font(italic, 54), width)[:9]:
            lines.append(PlacedLine(_MARGIN, y, line, italic, 54, _PAPER))
            y += 78
    return Layout(tuple(lines), rule, (_split(lines),))


def _split(lines: list[PlacedLine]) -> int:
    """The row between two lines nearest to :data:`FIRST_SHARE` of the cover's work above it.

    Setting a line costs about in proportion to its letters and to its size to the power
    0.75, encoding in proportion to rows (fitted to measured times of the bundled faces).
    """
    def setting(item: PlacedLine) -> float:
        return len(item.line) * math.pow(item.size, 0.75)

    row_cost = 1.1
    goal = FIRST_SHARE * (sum(map(setting, lines)) + HEIGHT * row_cost)
    best, best_miss = HEIGHT // 2 // BLOCK_ROWS * BLOCK_ROWS, float("inf")
    above = 0.0
    for item, below in itertools.pairwise(lines):
        above += setting(item)
        # Between the lines; one that reaches across is drawn in both bands, clipped.
        row = (item.y + item.size + below.y) // 2 // BLOCK_ROWS * BLOCK_ROWS
        miss = abs(above + row * row_cost - goal)
        if 0 < row < HEIGHT and miss < best_miss:
            best, best_miss = row, miss
    return best


def warm_up(band: int) -> None:
    """Draw a band of a cover of its own, and keep a whole canvas's memory for the next.

    For a process that will draw one band later, against the clock: the fonts and code
    it needs are then loaded, and its canvas needs no fresh memory, whatever its size.
    """
    from PIL import Image

    draw_band(CoverText("Warm-up", ("A. Writer",), "1 January 2000", "A description."), band)
    Image.new("RGB", (WIDTH, HEIGHT)).close()  # (its memory is kept: see draw_band)


@functools.cache
def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A face of one bundled font at one size (loaded once per process)."""
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy line breaking by measured width.

    Measured with the face itself, as ImageDraw.textlength on an RGB picture would ("L"),
    but with no picture: a new one, however small, would take the canvas's kept memory.
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and face.getlength(candidate, "L") > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines
