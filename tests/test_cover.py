"""The drawn cover: drawn in pieces, it is byte for byte the JPEG of the picture drawn whole."""

from __future__ import annotations

import io

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
]


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


@pytest.mark.parametrize("text", TEXTS, ids=["seed", "sans", "stacked-marks"])
def test_the_cover_drawn_in_bands_and_runs_is_the_picture_drawn_whole(text: CoverText) -> None:
    drawn = cover.draw_cover(text)
    assert drawn == _whole(text)
    with Image.open(io.BytesIO(drawn)) as image:
        assert image.size == (cover.WIDTH, cover.HEIGHT)


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
    before, after = TTFont(io.BytesIO(original)), TTFont(io.BytesIO(patched))
    # Push selector 1 and value 1, then INSTCTRL: glyph instructions off, for every size.
    assembly = [line.split("\t")[0] for line in after["prep"].program.getAssembly()]
    assert assembly == ["PUSHB[ ]", "1", "1", "INSTCTRL[ ]"]
    assert sorted(after.keys()) == sorted(before.keys())
    for tag in before.reader.tables:
        if tag != "prep":
            assert after.reader[tag] == before.reader[tag], tag
    # FreeType takes the switch: type set small comes out otherwise than hinted.
    hinted = ImageFont.truetype(str(path), 13)
    unhinted = ImageFont.truetype(io.BytesIO(patched), 13)
    assert bytes(hinted.getmask("Hamburgefonstiv")) != bytes(unhinted.getmask("Hamburgefonstiv"))


def test_a_font_without_a_control_program_or_not_one_font_is_read_as_it_is() -> None:
    path = FONTS / "inter" / "Inter-Regular.otf"  # (CFF outlines: no prep)
    assert font_bytes(str(path)) == path.read_bytes()
    gentium = (FONTS / "gentium-book-plus" / "GentiumBookPlus-Regular.ttf").read_bytes()
    collection = b"ttcf" + gentium[4:]  # (a table directory that is not one)
    for data in (collection, gentium[:40], b"", b"\x00\x01\x00\x00\xff\xff"):
        assert without_hinting(data) == data


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
def test_lines_break_where_plain_greedy_breaking_breaks_them(width: int) -> None:
    words = [*(TEXTS[0].description or "").split(), "Unbreakablyverylongwordthatfillsaline" * 2,
             "a", "—", "Ŷ̷̧̛"]
    faces = [cover.font(str(FONTS / "gentium-book-plus" / "GentiumBookPlus-Bold.ttf"), 150),
             cover.font(str(FONTS / "inter" / "Inter-Regular.otf"), 54)]
    for number in range(60):
        text = " ".join(words[(number * 7 + k * 3) % len(words)] for k in range(number % 23))
        for face in faces:
            assert cover._wrap(text, face, width) == _greedy(text, face, width), text
