"""The drawn cover: deterministic, whole, and never cut at its edge."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image, ImageChops

from exporter import cover
from exporter.cover import CoverText
from exporter.session import Session

TEXTS = {
    "seed": CoverText("The Battle for Pokrovsk: Russia Claims Gains as Ukraine Holds the Line", (),
                      "3 November 2025", "Russian forces push deeper into the ruined city of "
                      "Pokrovsk while Ukraine insists its defenders hold every district. " * 2),
    "sans": CoverText("A title long enough to take two lines", ("A. Writer", "B. Writer"), None,
                      "A description. " * 12, "modern"),
    "stacked-marks": CoverText("Z̴̡̢͎̳a̵͓͈l̷̨̛g̸o̵̧ " * 4, ("Ǻ Ṩ",), "1 May 2020", "Ŷ̷̧̛ ̸̡͖ḙ̴̛ " * 30),
    # Line breaks and other controls (a title made from a file name can hold them).
    "controls": CoverText("Part one\nPart two\u2029three", ("A\nWriter",), "1\x1cMay", "d\r\ne " * 12),
    "many-authors": CoverText("Dispatches", tuple(f"Correspondent Number {n} Of The Desk"
                                                  for n in range(12)), "1 May 2020"),
    "one-long-word": CoverText("W" * 400, ("N" * 300,), None, "D" * 2000),
}


def _picture(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.convert("RGB")


@pytest.mark.parametrize("name", TEXTS)
def test_a_cover_is_the_same_bytes_every_time_and_of_the_promised_size(name: str) -> None:
    first = cover.draw_cover(TEXTS[name])
    assert cover.draw_cover(TEXTS[name]) == first
    assert _picture(first).size == (cover.WIDTH, cover.HEIGHT)


@pytest.mark.parametrize("name", ["seed", "many-authors", "one-long-word"])
def test_nothing_is_drawn_in_the_right_margin(name: str) -> None:
    """A long title, author line or word wraps (or is cut to fit) inside the margins."""
    picture = _picture(cover.draw_cover(TEXTS[name]))
    margin = picture.crop((cover.WIDTH - 140, 0, cover.WIDTH, cover.HEIGHT))
    ground = Image.new("RGB", margin.size, cover._INK)
    difference = ImageChops.difference(margin, ground).convert("L")
    assert difference.getextrema()[1] < 40  # (JPEG noise only, no type)


def test_every_author_line_that_fits_is_drawn() -> None:
    one = _picture(cover.draw_cover(CoverText("T", ("A. Writer",))))
    many = _picture(cover.draw_cover(TEXTS["many-authors"]))
    # The author lines below the first reach rows that a single author leaves bare.
    band = (cover._MARGIN, 760, cover.WIDTH - cover._MARGIN, 900)
    assert ImageChops.difference(one.crop(band), many.crop(band)).getbbox() is not None


@pytest.mark.parametrize(("words", "count"), [(["Correspondent"] * 80, 3), (["W" * 300], 1)])
def test_text_past_its_lines_ends_in_an_ellipsis_inside_the_margins(words: list[str],
                                                                    count: int) -> None:
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    face = ImageFont.truetype(str(cover.styles_dir() / "fonts" / cover._FACES["classic"][2]), 64)
    width = cover.WIDTH - 2 * cover._MARGIN
    lines = cover._wrap(draw, " ".join(words), face, width)
    shown = cover._at_most(draw, [*lines, "more"], count, face, width)
    assert len(shown) == count and shown[-1].endswith("\u2026")
    assert all(draw.textlength(line, font=face) <= width for line in shown)


def test_a_huge_title_is_drawn_in_bounded_time() -> None:
    started = time.monotonic()
    cover.draw_cover(CoverText("x" * 60_000, ("y" * 60_000,), None, "z " * 60_000))
    assert time.monotonic() - started < 5


def test_a_session_keeps_a_cover_by_what_it_shows() -> None:
    session = Session(limit=2)
    drawn = []

    def make() -> bytes:
        drawn.append(1)
        return cover.draw_cover(TEXTS["seed"])

    first = session.keep("cover", TEXTS["seed"], make)
    assert session.keep("cover", TEXTS["seed"], make) is first
    assert len(drawn) == 1
    for name in ("sans", "controls"):  # past the limit, the least recent goes
        session.keep("cover", TEXTS[name], lambda name=name: cover.draw_cover(TEXTS[name]))
    session.keep("cover", TEXTS["seed"], make)
    assert len(drawn) == 2
