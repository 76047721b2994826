"""One baseline JPEG from horizontal bands encoded separately, so that they can be drawn apart.

A JPEG with a restart marker after every row of blocks (``restart_marker_rows=1``
in Pillow) codes each row independently of the others: after a marker the
coder starts afresh.  So the JPEG of an image is the JPEG of its top band
followed by that of its bottom band, once the second band's restart markers
are renumbered to continue the first's and the frame header gives the whole
height: the bytes are the very ones encoding the whole image would give
(the tests check it).  Each band must start on a row of blocks (16 pixel
rows at 4:2:0) and be encoded with the same settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

#: Markers a JPEG never follows with a segment length.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xDA)})
_SOF0, _SOS, _DRI = 0xC0, 0xDA, 0xDD
_RESTART = re.compile(rb"\xff[\xd0-\xd7]")
_EOI = b"\xff\xd9"
_MARKERS = tuple(bytes((0xFF, 0xD0 + number)) for number in range(8))


def join_bands(bands: Iterable[bytes], height: int) -> Iterator[bytes]:
    """The JPEG of the whole image, *height* pixels high, piece by piece from its bands' JPEGs.

    Each piece comes as soon as its band does (a band can be written out while the
    next is drawn).  ValueError for bands that were not encoded alike, or
    without a restart marker after every row of blocks.
    """
    header: bytes | None = None
    intervals = 0  # restart intervals (rows of blocks) so far
    ragged = False  # whether the band so far ended inside a row of blocks
    for band in bands:
        if ragged:
            raise ValueError("a cover band other than the last ends inside a row of blocks")
        band_header, scan, ragged = _parts(band, height)
        if header is None:
            header = band_header
            piece = header
        elif band_header != header:
            raise ValueError("the cover's bands were encoded with different settings")
        else:
            piece = _MARKERS[(intervals - 1) % 8]  # the marker after the last row
        piece += _renumbered(scan, intervals)
        intervals += len(_RESTART.findall(scan)) + 1
        yield piece
    yield _EOI


def stacked(row: bytes, times: int, height: int) -> bytes:
    """The JPEG of *times* copies of the picture *row*, one under another, *height* pixels in all.

    *row* is the JPEG of one row of blocks, encoded as a band.  For rows that many
    pictures share (a flat ground), so that they are encoded once.
    """
    header, scan, ragged = _parts(row, height)
    if times < 1:
        raise ValueError("no rows to stack")
    if ragged or _RESTART.search(scan):
        raise ValueError("not the JPEG of one whole row of blocks")
    return header + b"".join(scan + _MARKERS[count % 8] for count in range(times - 1)) + scan + _EOI


def _renumbered(scan: bytes, shift: int) -> bytes:
    """*scan* with its restart markers counting on from *shift* (they cycle through 8)."""
    return _RESTART.sub(lambda m: _MARKERS[(m.group()[1] - 0xD0 + shift) % 8], scan)


def _parts(jpeg: bytes, height: int) -> tuple[bytes, bytes, bool]:
    """A band's headers up to its scan, its frame made *height* high, and its coded rows.

    The last item is whether the band ends inside a row of blocks (its height is not
    a whole number of them), which only the last band may.
    """
    if not (jpeg.startswith(b"\xff\xd8") and jpeg.endswith(_EOI)):
        raise ValueError("not a whole JPEG")
    header = bytearray(jpeg[:2])
    position, ragged, per_row, interval = 2, None, 0, 0
    while position + 4 <= len(jpeg):
        if jpeg[position] != 0xFF or jpeg[position + 1] in _STANDALONE:
            break
        marker = jpeg[position + 1]
        end = position + 2 + int.from_bytes(jpeg[position + 2:position + 4], "big")
        segment = bytearray(jpeg[position:end])
        if marker == _SOF0:  # length, precision, height, width, components and their sampling
            rows = 8 * max(factors & 0x0F for factors in segment[11::3])
            columns = 8 * max(factors >> 4 for factors in segment[11::3])
            ragged = int.from_bytes(segment[5:7], "big") % rows != 0
            per_row = -(-int.from_bytes(segment[7:9], "big") // columns)  # blocks in a row
            segment[5:7] = height.to_bytes(2, "big")
        if marker == _DRI:
            interval = int.from_bytes(segment[4:6], "big")
        header += segment
        if marker == _SOS:
            if ragged is None or interval != per_row:
                raise ValueError("a cover band is not baseline with a restart marker every row")
            return bytes(header), jpeg[end:-2], ragged
        position = end
    raise ValueError("no scan in the JPEG")
