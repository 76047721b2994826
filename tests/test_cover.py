"""The drawn cover: drawn in pieces, it is byte for byte the JPEG of the picture drawn whole."""

from __future__ import annotations

import dataclasses
import io
import random

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from exporter import cover
from exporter.cover import CoverText
from exporter.resources import styles_dir
from exporter.unhinted import font_bytes, without_hinting

FONTS = styles_dir() / "fonts"
TEXTS = [
    CoverText("The Battle for Pokrovsk: Russia Claims Gains as Ukraine Holds the Line", (),
              "3 November 2025", "Russian forces push deeper into the ruined city of Pokrovsk "
              "while Ukraine insists its defenders hold every district. " * 2, "classic"),
    CoverText("A title long enough to take two lines", ("A. Writer", "B. Writer"), None,
              "A description. " * 12, "modern"),
    # Marks stacked far above and below their letters reach beyond the lines' em boxes.
    CoverText("Z̴̡̢͎̳a̵͓͈l̷̨̛g̸o̵̧ " * 4, ("Ǻ Ṩ",), "1 May 2020", "Ŷ̷̧̛ ̸̡͖ḙ̴̛ " * 30, "classic"),
    # Line breaks and other controls (a title made from a file name can hold them).
    CoverText("Part one\nPart two\u2029three", ("A\nWriter",), "1\x1cMay", "d\r\ne " * 12,
              "classic"),
]
IDS = ["seed", "sans", "stacked-marks", "controls"]


def _whole(text: CoverText) -> bytes:
    """The cover as a plain drawing of its layout on one canvas would encode it."""
    placed = cover.layout(text)
    image = Image.new("RGB", (cover.WIDTH, cover.HEIGHT), cover._INK)
    draw = ImageDraw.Draw(image)
    draw.rectangle(placed.rule, fill=cover._ACCENT)
    for item in placed.lines:
        draw.text((item.x, item.y), item.line, font=cover.font(item.face, item.size), fill=item.fill)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, subsampling=2, restart_marker_rows=1)
    return buffer.getvalue()


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_the_cover_drawn_in_bands_and_runs_is_the_picture_drawn_whole(text: CoverText) -> None:
    drawn = cover.draw_cover(text)
    assert drawn == _whole(text)
    with Image.open(io.BytesIO(drawn)) as image:
        assert image.size == (cover.WIDTH, cover.HEIGHT)


@pytest.mark.parametrize("text", TEXTS[:3], ids=IDS[:3])
def test_the_bytes_are_the_same_wherever_the_bands_split(text: CoverText) -> None:
    placed = cover.layout(text)
    whole = _whole(text)
    edges = sorted({edge for item in placed.lines for edge in (item.top, item.bottom)})
    rows = {16, 2384, *(edge // 16 * 16 for edge in edges if 16 <= edge < 2384)}
    try:
        for row in sorted(rows):
            cover.remember_layout(text, dataclasses.replace(placed, splits=(row,)))
            assert cover.draw_cover(text) == whole, row
    finally:
        cover._layouts.clear()


@pytest.mark.parametrize("last_row", [1360, 1375, 1376])
def test_a_rule_ending_on_either_side_of_a_row_of_blocks_is_drawn_whole(last_row: int) -> None:
    text = TEXTS[0]
    placed = cover.layout(text)
    moved = dataclasses.replace(placed, rule=(150, last_row - 10, 410, last_row))
    try:
        for split in (1360, 1376):
            cover.remember_layout(text, dataclasses.replace(moved, splits=(split,)))
            assert cover.draw_cover(text) == _whole(text), split
    finally:
        cover._layouts.clear()


def test_a_short_line_within_a_tall_lines_rows_is_drawn() -> None:
    """Runs merge: the tall line's rows go on past the short line's end; and a line is drawn
    in every band its ink reaches, however far that is from its em."""
    face = str(FONTS / "gentium-book-plus" / "GentiumBookPlus-Bold.ttf")
    text = CoverText("(laid out by hand)")

    def placed(y: int, line: str, size: int) -> cover.PlacedLine:
        _, first, _, last = cover.font(face, size).getbbox(line, "L")
        return cover.PlacedLine(150, y, line, face, size, (247, 243, 234),
                                y + int(first), y + int(last) + 1)

    tall = placed(600, "Z" + "̴̡̢͎̳̥̥̥̥̥̥̥̥̥̥̥̥̥̥̥̥" * 3, 150)  # (its marks reach far below its em)
    short = placed(tall.top + 40, "a", 54)
    assert tall.top < short.top and short.bottom < tall.bottom - 64
    # A band that starts below the tall line's em still holds some of its marks.
    below_its_em = (tall.y + 2 * tall.size + tall.bottom) // 2 // 16 * 16
    assert tall.y + 2 * tall.size < below_its_em < tall.bottom
    try:
        for split in (below_its_em, 1600):
            cover.remember_layout(text, cover.Layout((tall, short), (150, 2000, 410, 2010),
                                                     (split,)))
            assert cover.draw_cover(text) == _whole(text), split
    finally:
        cover._layouts.clear()


def test_only_rows_that_type_or_the_rule_reach_are_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    text = TEXTS[0]
    placed = cover.layout(text)
    drawn_rows: list[tuple[int, int]] = []
    real = cover._drawn

    def counting(layout: cover.Layout, top: int, bottom: int) -> bytes:
        drawn_rows.append((top, bottom))
        return real(layout, top, bottom)

    monkeypatch.setattr(cover, "_drawn", counting)
    cover.draw_cover(text)
    inked = sum(bottom - top for top, bottom in drawn_rows)
    assert inked < cover.HEIGHT * 0.6  # (the margins and the gaps between lines are ground)
    drawn = {row for top, bottom in drawn_rows for row in range(top, bottom)}
    for item in placed.lines:
        assert set(range(item.top, item.bottom)) <= drawn, item.line
    assert set(range(placed.rule[1], placed.rule[3] + 1)) <= drawn
    # The ground between the runs: the bytes of a bare picture of its height.
    assert cover._ground(64) == _encoded_ground(64)


def _encoded_ground(rows: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (cover.WIDTH, rows), cover._INK).save(
        buffer, "JPEG", quality=85, subsampling=2, restart_marker_rows=1)
    return buffer.getvalue()


def test_a_hinted_truetype_font_gets_a_control_program_that_turns_hinting_off() -> None:
    path = FONTS / "gentium-book-plus" / "GentiumBookPlus-Bold.ttf"
    original = path.read_bytes()
    patched = without_hinting(original)
    before = TTFont(io.BytesIO(original))
    after = TTFont(io.BytesIO(patched), checkChecksums=2)  # (a wrong checksum raises on reading)
    # Push selector 1 and value 1, then INSTCTRL: glyph instructions off, for every size.
    assembly = [line.split("\t")[0] for line in after["prep"].program.getAssembly()]
    assert assembly == ["PUSHB[ ]", "1", "1", "INSTCTRL[ ]"]
    assert sorted(after.keys()) == sorted(before.keys())
    for tag in before.reader.tables:
        if tag != "prep":
            assert after.reader[tag] == before.reader[tag], tag
    assert after.reader["prep"]
    # FreeType takes the switch: type set small comes out otherwise than hinted.
    hinted = ImageFont.truetype(str(path), 13)
    unhinted = ImageFont.truetype(io.BytesIO(patched), 13)
    assert bytes(hinted.getmask("Hamburgefonstiv")) != bytes(unhinted.getmask("Hamburgefonstiv"))
    # And the cover's faces are loaded so.
    drawn = cover.font(str(path), 13)
    assert bytes(drawn.getmask("Hamburgefonstiv")) == bytes(unhinted.getmask("Hamburgefonstiv"))


def test_a_font_without_a_control_program_or_not_one_font_is_read_as_it_is() -> None:
    path = FONTS / "inter" / "Inter-Regular.otf"  # (CFF outlines: no prep)
    assert font_bytes(str(path)) == path.read_bytes()
    gentium = (FONTS / "gentium-book-plus" / "GentiumBookPlus-Regular.ttf").read_bytes()
    collection = b"ttcf" + gentium[4:]  # (a table directory that is not one)
    for data in (collection, gentium[:40], b"", b"\x00\x01\x00\x00\xff\xff"):
        assert without_hinting(data) == data
    # A file cut inside the prep table's record is not patched past its end.
    record = gentium.index(b"prep", 12, 12 + 16 * int.from_bytes(gentium[4:6], "big"))
    for cut in range(record + 4, record + 16):
        assert without_hinting(gentium[:cut]) == gentium[:cut]


def _greedy(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Line breaking as plainly as it goes: add words while the line, measured, still fits."""
    lines: list[str] = []
    for word in text.split():
        if lines and face.getlength(f"{lines[-1]} {word}", "L") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


@pytest.mark.parametrize("width", [200, 700, 1300])
def test_lines_of_wide_and_narrow_words_break_as_plain_greedy_breaking(width: int) -> None:
    """The guess from the mean letter is too long for wide words, too short for narrow ones."""
    words = ["WWMW", "MMWMWW", "iiil", "llj", "Wide", "it", "WWWWWWWW", "i", "Mm"]
    rng = random.Random(width)
    face = cover.font(str(FONTS / "gentium-book-plus" / "GentiumBookPlus-Bold.ttf"), 150)
    for _ in range(80):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
        assert cover._wrap(text, face, width) == _greedy(text, face, width), text


@pytest.mark.parametrize("width", [200, 700, 1300])
def test_lines_break_where_plain_greedy_breaking_breaks_them(width: int) -> None:
    words = [*(TEXTS[0].description or "").split(), "Unbreakablyverylongwordthatfillsaline" * 2,
             "a", "—", "Ŷ̷̧̛"]
    faces = [cover.font(str(FONTS / "gentium-book-plus" / "GentiumBookPlus-Bold.ttf"), 150),
             cover.font(str(FONTS / "inter" / "Inter-Regular.otf"), 54)]
    for number in range(60):
        text = " ".join(words[(number * 7 + k * 3) % len(words)] for k in range(number % 23))
        for face in faces:
            assert cover._wrap(text, face, width) == _greedy(text, face, width), text
