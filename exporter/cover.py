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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .jpeg_bands import join_bands, stacked
from .resources import styles_dir
from .unhinted import font_bytes

if TYPE_CHECKING:
    from PIL import Image, ImageFont

#: (The height is a whole number of rows of blocks, :data:`BLOCK_ROWS`: see :func:`_ground`.)
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
FIRST_SHARE = 0.41


@dataclass(frozen=True)
class PlacedLine:
    """One line of type, placed: where, what, in which face (a font file) and size and colour."""

    x: int
    y: int
    line: str
    face: str
    size: int
    fill: tuple[int, int, int]
    #: The pixel rows its ink reaches, from *top* to just before *bottom*.
    top: int
    bottom: int


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
    return b"".join(join_bands((draw_band(text, band) for band in range(BANDS)), HEIGHT))


def draw_band(text: CoverText, band: int) -> bytes:
    """Band *band* of the cover (0: the top, a little under half the work) as a JPEG of its own.

    The bands can be drawn at once, by two processes; :func:`~exporter.jpeg_bands.join_bands`
    makes them the whole cover, byte for byte the JPEG of the picture drawn whole,
    wherever the bands split.  Within a band, only the rows of blocks that type or the
    rule reach are drawn and encoded; the ground between them is the same few bytes
    for every row (:func:`_ground`).
    """
    placed = layout(text)
    edges = (0, *placed.splits, HEIGHT)
    top, bottom = edges[band], edges[band + 1]
    pieces: list[bytes] = []
    row = top
    for start, end in [*_inked_runs(placed.lines, placed.rule, top, bottom), (bottom, bottom)]:
        if start > row:
            pieces.append(_ground(start - row))
        if end > start:
            pieces.append(_drawn(placed, start, end))
        row = end
    return b"".join(join_bands(pieces, bottom - top))


def _inked_runs(lines: Iterable[PlacedLine], rule: tuple[int, int, int, int], top: int,
                bottom: int) -> list[tuple[int, int]]:
    """The runs of whole rows of blocks between *top* and *bottom* that type or the rule reach."""
    spans = [(item.top, item.bottom) for item in lines]
    spans.append((rule[1], rule[3] + 1))  # (the rectangle's last row is drawn)
    runs: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        start = max(top, first // BLOCK_ROWS * BLOCK_ROWS)
        end = min(bottom, -(-last // BLOCK_ROWS) * BLOCK_ROWS)
        if start >= end:
            continue
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs


def _drawn(placed: Layout, top: int, bottom: int) -> bytes:
    """The rows from *top* to *bottom* drawn, with every line and rule that reaches them."""
    from PIL import Image, ImageDraw

    # Keep the canvas's memory for the next cover: a process that builds many articles
    # (a batch worker, the build server) then skips mapping and zeroing it each time.
    allocator = Image.core  # type: ignore[attr-defined]  # (documented: "Block allocator")
    allocator.set_blocks_max(max(allocator.get_blocks_max(), _CANVAS_BLOCKS))
    image = Image.new("RGB", (WIDTH, bottom - top), _INK)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = placed.rule
    if y0 < bottom and y1 >= top:
        draw.rectangle((x0, y0 - top, x1, y1 - top), fill=_ACCENT)
    for item in placed.lines:
        if item.top < bottom and item.bottom > top:  # (Pillow clips what falls outside)
            draw.text((item.x, item.y - top), item.line, font=font(item.face, item.size),
                      fill=item.fill)
    return _encoded(image)


@functools.cache
def _ground_row() -> bytes:
    """One row of blocks of the bare ground, encoded (once per process)."""
    from PIL import Image

    return _encoded(Image.new("RGB", (WIDTH, BLOCK_ROWS), _INK))


def _ground(rows: int) -> bytes:
    """*rows* pixel rows of bare ground as a JPEG: the one encoded row, repeated.

    *rows* is a whole number of rows of blocks, as every band and run is: they start
    on one, and :data:`HEIGHT` is one too.
    """
    return stacked(_ground_row(), rows // BLOCK_ROWS, rows)


def _encoded(image: Image.Image) -> bytes:
    """*image* as a JPEG with the settings every piece of a cover shares (so they join)."""
    buffer = io.BytesIO()
    # JPEG encodes in a few milliseconds, where a PNG this size takes 50 ms to 250 ms, and
    # every reader shows JPEG covers. Light type on a dark, nearly grey ground carries its
    # edges in brightness, so halving the colour resolution (4:2:0) looks the same at full
    # size and saves a quarter of the bytes and of the time. A restart marker after every
    # row of blocks lets rows encoded apart be joined (0.3 % more bytes).
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

    def place(y: int, line: str, face: str, size: int, fill: tuple[int, int, int]) -> None:
        line = " ".join(line.split())  # one line: breaks and controls as spaces
        _, first, _, last = font(face, size).getbbox(line, "L")
        lines.append(PlacedLine(_MARGIN, y, line, face, size, fill,
                                y + math.floor(first), y + math.ceil(last)))

    title_size = 150
    title_lines = _wrap(text.title, font(bold, title_size), width)
    while len(title_lines) > 6 and title_size > 70:
        title_size -= 10
        title_lines = _wrap(text.title, font(bold, title_size), width)
    y = 420
    for line in title_lines:
        place(y, line, bold, title_size, _PAPER)
        y += int(title_size * 1.18)
    y += 60
    rule = (_MARGIN, y, _MARGIN + 260, y + 10)
    y += 90
    if text.authors:
        place(y, ", ".join(text.authors), regular, 64, _PAPER)
        y += 100
    if text.date:
        place(y, text.date, regular, 56, _ACCENT)
        y += 120
    if text.description:
        for line in _wrap(text.description, font(italic, 54), width)[:9]:
            place(y, line, italic, 54, _PAPER)
            y += 78
    return Layout(tuple(lines), rule, (_split(lines, rule),))


def _split(lines: list[PlacedLine], rule: tuple[int, int, int, int]) -> int:
    """The row between two lines nearest to :data:`FIRST_SHARE` of the cover's work above it.

    Setting a line costs about in proportion to its letters and its size, encoding in
    proportion to the rows of blocks that type reaches (fitted to measured times of the
    bundled faces); the bare ground costs next to nothing.
    """
    def setting(item: PlacedLine) -> float:
        return len(item.line) * item.size

    row_cost = 16.0  # a pixel row that type reaches, in the units of `setting`
    runs = _inked_runs(lines, rule, 0, HEIGHT)
    inked = sum(end - start for start, end in runs)
    goal = FIRST_SHARE * (sum(map(setting, lines)) + inked * row_cost)
    best, best_miss = HEIGHT // 2 // BLOCK_ROWS * BLOCK_ROWS, float("inf")
    above = 0.0
    for item, below in itertools.pairwise(lines):
        above += setting(item)
        # Between the lines; one that reaches across is drawn in both bands, clipped.
        row = (item.bottom + below.top) // 2 // BLOCK_ROWS * BLOCK_ROWS
        rows_above = sum(min(end, row) - start for start, end in runs if start < row)
        miss = abs(above + rows_above * row_cost - goal)
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
    """A face of one bundled font at one size, TrueType unhinted (loaded once per process)."""
    from PIL import ImageFont

    return ImageFont.truetype(io.BytesIO(font_bytes(path)), size)


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy line breaking by measured width: each line takes as many words as fit (one at least).

    Measured with the face itself, as ImageDraw.textlength on an RGB picture would ("L"),
    but with no picture: a new one, however small, would take the canvas's kept memory.
    Each line starts from a guess by the text's mean letter width and measures only
    around it, two or three times, not once for every word it might take.
    """
    words = text.split()
    if not words:
        return []
    spaced = " ".join(words)  # (line breaks and other controls are not measurable)
    letter = face.getlength(spaced, "L") / len(spaced)

    def fits(count: int) -> bool:
        return face.getlength(" ".join(words[start:start + count]), "L") <= width

    lines: list[str] = []
    start = 0
    while start < len(words):
        count, letters = 0, -1
        while start + count < len(words) and \
                (letters + 1 + len(words[start + count])) * letter <= width:
            letters += 1 + len(words[start + count])
            count += 1
        count = max(count, 1)
        if count == 1 or fits(count):
            while start + count < len(words) and fits(count + 1):
                count += 1
        else:
            count -= 1
            while count > 1 and not fits(count):
                count -= 1
        lines.append(" ".join(words[start:start + count]))
        start += count
    return lines
