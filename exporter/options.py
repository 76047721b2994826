"""Every option of a build, in one frozen object with documented defaults.

The CLI (and the Python API) build one :class:`Options` and hand it down;
no stage reads the environment or global state for a setting.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import UsageProblem

FORMATS = ("html", "epub", "pdf")
STYLES = ("classic", "modern", "large-print")
EDITIONS = ("standard", "print", "archive")


@dataclass(frozen=True)
class Options:
    """The settings of one build; every field has the default a reader would want."""

    #: Editions to write, in this order; any of :data:`FORMATS`.
    formats: tuple[str, ...] = FORMATS
    #: A bundled style (one of :data:`STYLES`).
    style: str = "classic"
    #: The user's own stylesheets, layered on top of the bundled style.
    user_stylesheets: tuple[Path, ...] = ()
    #: PDF page size: a preset name (A4, A5, B5, Letter, 6x9in, 5.5x8.5in) or ``WxH`` with units.
    page_size: str = "A4"
    #: PDF margins as CSS lengths: one value, or ``top outer bottom inner`` mirrored on spreads.
    margins: str | None = None
    #: ``standard`` (tagged PDF/UA-1), ``print`` (PDF/X-4 with bleed) or ``archive`` (PDF/A-3).
    edition: str = "standard"
    #: Seconds since the epoch used for dates when the front matter has none
    #: (the CLI fills it from ``SOURCE_DATE_EPOCH``); never the wall clock.
    source_date_epoch: int | None = None
    #: Contents list in the HTML and PDF: True, False, or None for "when there are several
    #: articles or at least three sections".
    toc: bool | None = None
    #: The EPUB's page list, matching the PDF edition's pages: laid out for it when the PDF is
    #: not built, so the EPUB is the same either way; False (``--no-page-list``) leaves it out.
    page_list: bool = True
    #: Keep the previous outputs when the source, images, stylesheets, options and tool
    #: are unchanged (checked by content hash, never by file time), and record each build
    #: for the next; False (``--force``) builds without the cache, reading and writing none.
    reuse: bool = True
    #: Turn every warning into a failure.
    strict: bool = False
    #: Largest source file accepted, in bytes.
    max_source_bytes: int = 8 * 1024 * 1024
    #: Largest front matter block accepted, in bytes.
    max_front_matter_bytes: int = 64 * 1024
    #: Deepest nesting of lists and block quotes accepted in a source.
    max_nesting: int = 64
    #: Largest image accepted, in pixels (width times height).
    max_image_pixels: int = 40_000_000
    #: Pixels of all of an article's images together.
    max_total_image_pixels: int = 200_000_000
    #: Longest line of a source, in characters (a paragraph far past a book's chapter).
    max_line_chars: int = 1024 * 1024
    #: Most columns in one table (no page or screen shows more).
    max_table_columns: int = 200
    #: Most footnotes in one article (Python-Markdown's footnotes grow quadratically).
    max_footnotes: int = 2_000
    #: Most raw HTML tags in one article (the sanitiser's time grows with them).
    max_raw_html_tags: int = 50_000

    def __post_init__(self) -> None:
        """Refuse names no edition, style or PDF kind has, naming the valid ones."""
        if isinstance(self.formats, str) or not self.formats:
            raise UsageProblem(f"formats must be a non-empty list of {', '.join(FORMATS)}, "
                               f"not {self.formats!r}")
        for name, value, valid in (*(("format", fmt, FORMATS) for fmt in self.formats),
                                   ("style", self.style, STYLES), ("edition", self.edition, EDITIONS)):
            if value not in valid:
                raise UsageProblem(f"unknown {name} {value!r}; choose from {', '.join(valid)}")

    def with_changes(self, **changes: Any) -> Options:
        """Return a copy with *changes* applied (the object itself never changes)."""
        unknown = sorted(set(changes) - {field.name for field in fields(self)})
        if unknown:
            names = ", ".join(field.name for field in fields(self))
            raise UsageProblem(f"unknown option {unknown[0]!r}; the options are {names}")
        return replace(self, **changes)
