"""exporter: offline export of Markdown articles to HTML, EPUB 3 and PDF.

The pipeline reads a source, builds one immutable document from it and
writes each edition from that document::

    read_source -> build_document -> Book -> render_html / render_epub / render_pdf

:func:`build` and :func:`build_many` run it; the CLI uses the same functions.
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False  # (typing's, without importing typing: the command starts here)
if TYPE_CHECKING:
    from typing import Any

    from .pipeline import BuildResult, build, build_book, build_many

__all__ = ["BuildResult", "__version__", "build", "build_book", "build_many"]


def __getattr__(name: str) -> Any:
    # Imported on first use so that `exporter --help` stays fast.
    if name in {"build", "build_book", "build_many", "BuildResult"}:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
