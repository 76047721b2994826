"""Joining a JPEG's bands: the very bytes of the whole picture's JPEG, or a clear refusal."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image, ImageDraw

from exporter import cover
from exporter.jpeg_bands import join_bands, stacked


def _picture(width: int, height: int) -> Image.Image:
    """Detail in every row: gradients, type-like strokes and flat ground."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 37):
        draw.line((0, y, width, height - y), fill=(240, 200, 90), width=5)
        draw.text((10, y), "Pokrovsk 2025", fill=(20, 30, 40))
    return image


def _jpeg(image: Image.Image, **options: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, subsampling=2, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("cuts", [[16], [1312], [2384], [400, 1312, 2000]])
def test_joined_bands_are_the_whole_pictures_jpeg(cuts: list[int]) -> None:
    picture = _picture(1600, 2400)
    edges = [0, *cuts, 2400]
    bands = [_jpeg(picture.crop((0, top, 1600, bottom)), restart_marker_rows=1)
             for top, bottom in itertools.pairwise(edges)]
    assert b"".join(join_bands(bands, 2400)) == _jpeg(picture, restart_marker_rows=1)


def test_the_last_band_may_end_inside_a_row_of_blocks_and_the_width_need_not_fill_one() -> None:
    picture = _picture(1590, 2390)
    bands = [_jpeg(picture.crop(box), restart_marker_rows=1)
             for box in ((0, 0, 1590, 1312), (0, 1312, 1590, 2390))]
    joined = b"".join(join_bands(bands, 2390))
    assert joined == _jpeg(picture, restart_marker_rows=1)
    with Image.open(io.BytesIO(joined)) as image:
        assert image.size == (1590, 2390)


@pytest.mark.parametrize("options", [{}, {"restart_marker_rows": 2}, {"restart_marker_blocks": 7}])
def test_bands_without_a_restart_marker_every_row_are_refused(options: dict[str, int]) -> None:
    picture = _picture(320, 64)
    bands = [_jpeg(picture.crop((0, 0, 320, 32)), **options),
             _jpeg(picture.crop((0, 32, 320, 64)), **options)]
    with pytest.raises(ValueError, match="restart marker every row"):
        list(join_bands(bands, 64))


def test_a_band_ending_inside_a_row_of_blocks_must_be_the_last() -> None:
    picture = _picture(320, 64)
    bands = [_jpeg(picture.crop((0, 0, 320, 24)), restart_marker_rows=1),
             _jpeg(picture.crop((0, 24, 320, 64)), restart_marker_rows=1)]
    with pytest.raises(ValueError, match="inside a row of blocks"):
        list(join_bands(bands, 64))


def test_bands_encoded_differently_are_refused() -> None:
    picture = _picture(320, 64)
    top = _jpeg(picture.crop((0, 0, 320, 32)), restart_marker_rows=1)
    buffer = io.BytesIO()
    picture.crop((0, 32, 320, 64)).save(buffer, "JPEG", quality=60, subsampling=2,
                                         restart_marker_rows=1)
    with pytest.raises(ValueError, match="different settings"):
        list(join_bands([top, buffer.getvalue()], 64))


def test_the_drawn_cover_is_its_bands_joined_and_decodes_whole() -> None:
    text = cover.CoverText("A title long enough to take two lines of the cover's type",
                           ("A. Writer",), "3 November 2025", "A description. " * 12)
    whole = cover.draw_cover(text)
    assert whole == b"".join(join_bands([cover.draw_band(text, 0), cover.draw_band(text, 1)],
                                        cover.HEIGHT))
    with Image.open(io.BytesIO(whole)) as image:
        image.load()  # a broken scan fails here
        assert image.size == (cover.WIDTH, cover.HEIGHT)
        # The title's type (light) is in the top band, the ground (dark) around it.
        assert image.crop((150, 420, 1450, 600)).convert("L").getextrema()[1] > 200
        assert image.crop((0, 0, 1600, 300)).convert("L").getextrema()[1] < 80


def test_a_row_of_blocks_stacked_is_the_jpeg_of_the_row_repeated() -> None:
    row = _picture(1600, 16)
    tall = Image.new("RGB", (1600, 16 * 11))
    for number in range(11):
        tall.paste(row, (0, 16 * number))
    assert stacked(_jpeg(row, restart_marker_rows=1), 11, 16 * 11) == \
        _jpeg(tall, restart_marker_rows=1)
    with pytest.raises(ValueError, match="one whole row of blocks"):
        stacked(_jpeg(_picture(1600, 32), restart_marker_rows=1), 2, 64)
    with pytest.raises(ValueError, match="no rows"):
        stacked(_jpeg(row, restart_marker_rows=1), 0, 0)
