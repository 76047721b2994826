"""Which characters of a book the style's own font cannot show: those the bundled fallbacks
(DejaVu Serif or Sans) draw, and those no bundled font has, which depend on the machine's fonts."""

from __future__ import annotations

import functools
import unicodedata

from .resources import styles_dir

#: The main text font of each style, and the fallbacks it lists after it (fonts.css).
STYLE_FONTS = {
    "classic": ("gentium-book-plus/GentiumBookPlus-Regular.ttf", "dejavu/DejaVuSerif.ttf"),
    "modern": ("inter/Inter-Regular.otf",),
    "large-print": ("inter/Inter-Regular.otf",),
}
FALLBACK_FONT = "dejavu/DejaVuSans.ttf"


@functools.cache
def _coverage(relative: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(styles_dir() / "fonts" / relative), lazy=True) as font:
        return frozenset(font.getBestCmap())


def uncovered(text: str, style: str) -> tuple[str, str]:
    """(characters drawn from the fallback font, characters no bundled font has)."""
    used = {ord(char) for char in text if not char.isspace()
            and unicodedata.category(char) not in {"Cc", "Cf", "Zs"}}
    main, *serif = STYLE_FONTS.get(style, STYLE_FONTS["classic"])
    outside = sorted(used - _coverage(main))
    if not outside:  # (the usual case: the fallbacks' large tables need not be read)
        return "", ""
    fallback = _coverage(FALLBACK_FONT).union(*map(_coverage, serif))
    return ("".join(chr(c) for c in outside if c in fallback),
            "".join(chr(c) for c in outside if c not in fallback))


def describe(characters: str, limit: int = 12) -> str:
    """The characters with their code points, shortened after *limit*."""
    shown = ", ".join(f"{char} (U+{ord(char):04X})" for char in characters[:limit])
    more = len(characters) - limit
    return shown + (f" and {more} more" if more > 0 else "")
