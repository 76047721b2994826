"""Every option of a build in one frozen object with documented defaults: no stage reads the
environment or global state for a setting."""

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
    #: A bundled style (one of :data:`STYLES`), and the user's stylesheets layered on top.
    style: str = "classic"
    user_stylesheets: tuple[Path, ...] = ()
    #: PDF page size: a preset name (A4, A5, B5, Letter, 6x9in, 5.5x8.5in) or ``WxH`` with units.
    page_size: str = "A4"
    #: PDF margins as CSS lengths: one value, or ``top outer bottom inner`` mirrored on spreads.
    margins: str | None = None
    #: ``standard`` (tagged PDF/UA-1), ``print`` (PDF/X-4 with bleed) or ``archive`` (PDF/A-3).
    edition: str = "standard"
    #: Seconds since the epoch for dates the front matter lacks (from ``SOURCE_DATE_EPOCH``),
    #: never the wall clock.
    source_date_epoch: int | None = None
    #: A contents list in the HTML and PDF; None: for several articles or three sections.
    toc: bool | None = None
    #: The EPUB's page list, matching the PDF's pages (laid out for it when no PDF is built).
    page_list: bool = True
    #: Keep the previous outputs when nothing they depend on changed (by content hash), and
    #: record each build; False (``--force``) reads and writes no cache.
    reuse: bool = True
    #: Turn every warning into a failure.
    strict: bool = False
    #: Limits on what a source may hold, so no input takes minutes or gigabytes.
    max_source_bytes: int = 8 * 1024 * 1024
    max_front_matter_bytes: int = 64 * 1024
    max_nesting: int = 64
    max_image_pixels: int = 40_000_000
    max_total_image_pixels: int = 200_000_000
    max_line_chars: int = 1024 * 1024
    max_table_columns: int = 200
    max_footnotes: int = 2_000
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
        names = [field.name for field in fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise UsageProblem(f"unknown option {unknown[0]!r}; the options are {', '.join(names)}")
        return replace(self, **changes)
