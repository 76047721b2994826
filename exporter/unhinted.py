"""TrueType fonts read with their hinting switched off, for type set large (the cover's).

Hinting fits a glyph's outline to the pixel grid: it matters at text sizes on a
screen, not for type 50 to 150 pixels high, where FreeType's run of a font's
instructions costs as much as drawing it (half the time the cover's type took).
Pillow offers no switch for it, but TrueType has one of its own: a font's control
value program (``prep``), which runs once per size, may set ``INSTCTRL``
selector 1, and FreeType then loads every glyph of that size unhinted.  The
copy made here, in memory only, has a ``prep`` that does just that; the font
file is left as it is.  CFF-flavoured fonts (``.otf``) have no ``prep`` and are
returned unchanged.
"""

from __future__ import annotations

import functools
import struct

#: PUSHB[1] 1 1; INSTCTRL: selector 1 (no glyph instructions), set.
_NO_GLYPH_INSTRUCTIONS = b"\xb1\x01\x01\x8e"
#: The first four bytes of one TrueType or OpenType font (not a collection).
_SFNT_VERSIONS = (b"\x00\x01\x00\x00", b"true", b"OTTO")


@functools.cache
def font_bytes(path: str) -> bytes:
    """The font file at *path*, with hinting switched off if it is a hinted TrueType font."""
    with open(path, "rb") as file:
        return without_hinting(file.read())


def without_hinting(font: bytes) -> bytes:
    """*font* (one sfnt font) with a ``prep`` program that turns glyph hinting off.

    The new program is appended and the table directory pointed at it; a font with
    no ``prep`` table (CFF outlines, an unhinted font), and anything that is not one
    sfnt font (a collection), comes back unchanged.
    """
    if font[:4] not in _SFNT_VERSIONS or len(font) < 12:
        return font  # (a collection, or not a font: read as it is)
    (tables,) = struct.unpack_from(">H", font, 4)
    for record in range(12, min(12 + 16 * tables, len(font) - 15), 16):
        if font[record:record + 4] == b"prep":
            offset = -(-len(font) // 4) * 4  # (tables start on a four-byte boundary)
            patched = bytearray(font.ljust(offset, b"\0") + _NO_GLYPH_INSTRUCTIONS)
            checksum = int.from_bytes(_NO_GLYPH_INSTRUCTIONS, "big")
            struct.pack_into(">III", patched, record + 4, checksum, offset,
                             len(_NO_GLYPH_INSTRUCTIONS))
            return bytes(patched)
    return font
