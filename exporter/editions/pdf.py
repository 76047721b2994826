"""The PDF edition, rendered by WeasyPrint from the same markup as the HTML edition.

WeasyPrint is imported here only, when a PDF is asked for.  Stylesheets are
parsed once per process and reused, fonts are shared through one font
configuration, and every URL goes through the offline fetcher.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from ..document import Document
from ..errors import Diagnostic, RenderError, ResourceError
from ..geometry import page_geometry
from ..options import Options
from ..resources import Stylesheet, make_fetcher, styles_dir, stylesheets_for
from .html import compose_html
from .pagemap import PageStart, page_starts

#: The PDF variant of each edition (WeasyPrint's names).
VARIANTS = {"standard": "pdf/ua-1", "print": "pdf/x-4", "archive": "pdf/a-3a"}


@functools.cache
def _font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@functools.cache
def _parsed_css(text: str, base_url: str, roots: tuple[Path, ...]) -> Any:
    from weasyprint import CSS

    return CSS(string=text, base_url=base_url, url_fetcher=make_fetcher(roots),
               font_config=_font_config())


def render_pdf(
    document: Document, options: Options
) -> tuple[bytes, tuple[PageStart, ...], tuple[Diagnostic, ...]]:
    """Render the PDF: its bytes, where each page begins, and the warnings WeasyPrint logged."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    source_dir = document.source.path.parent.resolve()
    sheets = stylesheets_for("pdf", options)
    roots = tuple(sorted({styles_dir(), source_dir, *(s.path.parent for s in sheets)}))
    geometry = page_geometry(options.page_size, options.margins)
    markup = compose_html(document, css=None, inline_images=True)
    fetcher = make_fetcher(roots)
    collector = _WarningCollector(str(document.source.path))
    try:
        with collector:
            html = HTML(string=markup, base_url=source_dir.as_uri() + "/", url_fetcher=fetcher)
            stylesheets = [_stylesheet(sheet, roots) for sheet in sheets]
            stylesheets.append(_parsed_css(geometry.page_css(), styles_dir().as_uri() + "/", roots))
            layout = html.render(stylesheets=stylesheets, font_config=_font_config(),
                                 cache=_image_cache())
            pdf = layout.write_pdf(pdf_variant=VARIANTS[options.edition],
                                   pdf_identifier=document.digest[:32].encode("ascii"))
    except FatalURLFetchingError as refusal:
        raise ResourceError(str(refusal), path=document.source.path) from None
    except (ValueError, OSError, RuntimeError) as error:
        raise RenderError(f"PDF rendering failed: {error}", path=document.source.path) from error
    return pdf, page_starts(html.etree_element, layout), tuple(collector.diagnostics)


def _stylesheet(sheet: Stylesheet, roots: tuple[Path, ...]) -> Any:
    return _parsed_css(sheet.text, sheet.path.as_uri(), roots)


@functools.cache
def _image_cache() -> dict[str, Any]:
    return {}


class _WarningCollector(logging.Handler):
    """Gathers WeasyPrint's warnings while a document renders."""

    def __init__(self, path: str):
        super().__init__(logging.WARNING)
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.diagnostics.append(Diagnostic("PDF-RENDER", record.getMessage(), self.path))

    def __enter__(self) -> _WarningCollector:
        logger = logging.getLogger("weasyprint")
        logger.addHandler(self)
        self._propagate = logger.propagate
        logger.propagate = False
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("weasyprint")
        logger.removeHandler(self)
        logger.propagate = self._propagate
