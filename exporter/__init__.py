"""exporter: offline export of Markdown articles to HTML, EPUB 3 and PDF.

:func:`build`, :func:`build_book` and :func:`build_many` (:mod:`exporter.pipeline`) run it;
the CLI uses the same functions.
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False  # (typing's, without importing typing: the command starts here)
if TYPE_CHECKING:
    from .pipeline import BuildResult, build, build_book, build_many

__all__ = ["BuildResult", "__version__", "build", "build_book", "build_many"]


def __getattr__(name: str) -> object:
    """The pipeline's functions, imported on first use so that ``exporter --help`` stays fast."""
    if name in __all__ and name != "__version__":
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
