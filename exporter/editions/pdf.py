"""The PDF edition, rendered by WeasyPrint from the HTML edition's markup, offline and
reproducible: tagged PDF/UA-1, PDF/X-4 with bleed (print) or PDF/A-3 with its sources (archive)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import unicodedata
import uuid
from collections.abc import Iterator
from typing import Any

from .. import __version__
from ..book import Book
from ..errors import Diagnostic, RenderError, ResourceError
from ..geometry import head_size_pt, page_geometry
from ..metadata import IDENTIFIER_NAMESPACE
from ..options import Options
from ..resources import Stylesheet, make_fetcher, read_bundled, styles_dir, stylesheets_for
from ..session import Session
from .figures import shrink_orphaned_figures
from .html import compose_html
from .notes import keep_notes_with_calls
from .pagemap import PageStart, page_starts

#: The PDF variant of each edition (WeasyPrint's names).
VARIANTS = {"standard": "pdf/ua-1", "print": "pdf/x-4", "archive": "pdf/a-3a"}
#: Bleed around the trim box of the print edition, in millimetres.
PRINT_BLEED_MM = 3
#: 1904-01-01, where TrueType's dates begin, in Unix time.
_TRUETYPE_EPOCH = -2_082_844_800
#: Layouts after the first, at most, that fit figures into the pages they left empty and keep
#: notes on the pages of their calls.
_FIGURE_PASSES = 3
#: How WeasyPrint's log says it subsets with fontTools, which this edition chooses.
_CHOSEN_SUBSETTER = "Using fontTools instead of HarfBuzz-Subset"
#: How WeasyPrint's log begins for a character that no font on the machine has.
_EMPTY_BOX = ".notdef glyph rendered"
#: Each style's sheet of bundled faces (styles/fonts/), the regular face of its family (whose
#: characters every face of it has, as a test checks), and the fallbacks it lists after it.
_STYLE_FONTS = {
    "classic": ("serif.css", "gentium-book-plus/GentiumBookPlus-Regular.ttf", "dejavu/DejaVuSerif.ttf"),
    "modern": ("sans.css", "inter/Inter-Regular.otf"),
    "large-print": ("sans.css", "inter/Inter-Regular.otf"),
}
_FALLBACK_FONT = "dejavu/DejaVuSans.ttf"
_FONT_SHEETS = ("serif.css", "sans.css", "mono.css", "fallback.css")
#: What WeasyPrint draws that no text holds (besides its capitals, for uppercase and small caps):
#: list markers, the hyphen it breaks words with, a running head's ellipsis, wbr's space; and the
#: markers of lists in lists.
_DRAWN = "\u2022\u2010\u2026\u200b0123456789."
_NESTED_MARKERS = "\u25e6\u25aa"
#: Elements that call for other faces: code's monospace family, q's quotes (by language).
_OTHER_FACES = ("code", "pre", "kbd", "samp", "q")


def render_pdf(book: Book, options: Options,
               session: Session) -> tuple[bytes, tuple[PageStart, ...], tuple[Diagnostic, ...]]:
    """Render the PDF: its bytes, where each page begins, and the warnings WeasyPrint logged."""
    markup, text, sheets, key = _markup(book, options)
    with _rendering(book) as logged:
        html, layout = _lay_out(book, session, markup, sheets)
        settings: dict[str, Any] = {"pdf_variant": VARIANTS[options.edition],
                                    "pdf_identifier": book.digest[:32].encode("ascii")}
        if options.edition == "print":
            # No open-licensed CMYK press profile is packaged: sRGB is the output condition, which
            # PDF/X-4 allows for RGB workflows.  Tagged as the standard edition: PDF/X-4 allows it.
            settings.update(output_intent="srgb", pdf_tags=True)
        if options.edition == "archive":
            settings["attachments"] = _source_attachments(book, options)
        # WeasyPrint writes a random XMP document id for PDF/X: replace it with a derived one.
        rdf_metadata = layout.metadata.generate_rdf_metadata
        stable = f"xmp.did:{uuid.uuid5(IDENTIFIER_NAMESPACE, f'{book.identifier}#{book.digest}')}"
        layout.metadata.generate_rdf_metadata = lambda *args: re.sub(
            rb"xmp\.did:[0-9a-f-]{36}", stable.encode("ascii"), rdf_metadata(*args))
        pdf = layout.write_pdf(**settings)
    pages = session.keep("pages", key, lambda: page_starts(html.etree_element, layout))
    # WeasyPrint logs each character drawn as an empty box: said once, in the glyph warning.
    boxed = [found for found in logged if found.message.startswith(_EMPTY_BOX)]
    boxes = "".join(chr(int(code, 16)) for found in boxed
                    for code in re.findall(r"\(U\+([0-9A-F]+)\)", found.message))
    return pdf, pages, (*_glyph_warnings(text, book, options, boxes),
                        *(found for found in logged if found not in boxed))


def page_map(book: Book, options: Options, session: Session) -> tuple[PageStart, ...]:
    """Where each page of the PDF edition begins, laid out without writing the PDF; kept in
    *session* by all the layout depends on, so an EPUB beside the PDF takes the pages found once."""
    markup, _text, sheets, key = _markup(book, options)

    def lay_out() -> tuple[PageStart, ...]:
        with _rendering(book):  # (its warnings are the PDF's, not the EPUB's)
            html, layout = _lay_out(book, session, markup, sheets)
        return page_starts(html.etree_element, layout)

    return session.keep("pages", key, lay_out)


def _markup(book: Book, options: Options) -> tuple[str, str, tuple[Stylesheet, ...], str]:
    """The HTML the PDF is laid out from, its text, its stylesheets, and a key naming all its
    layout depends on (images are inlined in the HTML; the bundled fonts are the tool's)."""
    from lxml import html as lxml_html

    extra = f", {len(options.user_stylesheets)} user stylesheet(s)" if options.user_stylesheets else ""
    provenance = (f"exporter {__version__} ({options.style} style{extra}, page {options.page_size}, "
                  f"{options.edition} edition)")  # (its xmp:CreatorTool)
    markup = compose_html(book, options, css=None, paged=True, generator=provenance)
    root = lxml_html.fromstring(markup.encode("utf-8"))
    text = str(root.xpath("string()"))
    drawn = text + text.upper() + _DRAWN + (_NESTED_MARKERS if root.xpath("//ul//ul | //ol//ul") else "")
    page = page_geometry(options.page_size, options.margins, head_size_pt(options.style)).page_css()
    if options.edition == "print":
        page += f"@page {{ bleed: {PRINT_BLEED_MM}mm; marks: crop; }}\n"
    # (The page's sheet is made here; its base is the bundled styles' folder.)
    sheets = (*(read_bundled(f"fonts/{name}") for name in _font_sheets(markup, drawn, options)),
              *stylesheets_for("pdf", options), Stylesheet(styles_dir() / "page.css", page))
    texts = [markup, *(sheet.text for sheet in sheets)]
    return markup, text, sheets, hashlib.sha256("\0".join(texts).encode()).hexdigest()


def _font_sheets(markup: str, drawn: str, options: Options) -> tuple[str, ...]:
    """The sheets of bundled faces the PDF is drawn with: its style's family alone when it has
    every character *drawn*, none of them a symbol or a variation selector (either may make Pango
    look for an emoji form), and there is no code, quotation or user stylesheet; else every face,
    as any may draw a character. (Each face takes WeasyPrint milliseconds to load; the PDF is the
    same either way, as a test checks.)"""
    family, main = _STYLE_FONTS[options.style][:2]
    covered = _coverage(main)
    alone = not options.user_stylesheets and not any(f"<{tag}" in markup for tag in _OTHER_FACES) and all(
        ord(char) in covered and unicodedata.category(char) != "So" and not "\ufe00" <= char <= "\ufe0f"
        for char in set(drawn) - set("\t\n\r"))
    return (family,) if alone else _FONT_SHEETS


def _lay_out(book: Book, session: Session, markup: str,
             sheets: tuple[Stylesheet, ...]) -> tuple[Any, Any]:
    """WeasyPrint's document for *markup* and its layout, figures fitted to the pages and notes
    kept with their calls."""
    from weasyprint import CSS, HTML

    source_dirs = {article.source.path.parent.resolve() for article in book.articles}
    roots = tuple(sorted({styles_dir(), *source_dirs, *(s.path.parent for s in sheets)}))

    def parsed(text: str, base_url: str) -> Any:  # once per session for the same text and base
        return session.keep("css", (text, base_url, roots), lambda: CSS(
            string=text, base_url=base_url, url_fetcher=make_fetcher(roots),
            font_config=session.font_config()))

    # No base URL: images are inlined and relative links stay as written, so no path of the
    # build machine reaches the PDF.  (WeasyPrint has no @namespace: those rules stay out.)
    html = HTML(string=markup, base_url=None, url_fetcher=make_fetcher(roots))
    stylesheets = [parsed(sheet.text, sheet.path.as_uri()) for sheet in sheets]

    def render() -> Any:
        return html.render(stylesheets=stylesheets, font_config=session.font_config(),
                           cache=session.image_cache())

    layout = render()
    for _ in range(_FIGURE_PASSES):
        # (Both run: each marks the tree for the next layout.)
        if not shrink_orphaned_figures(layout, html.etree_element) | keep_notes_with_calls(layout):
            break
        layout = render()
    return html, layout


@contextlib.contextmanager
def _rendering(book: Book) -> Iterator[list[Diagnostic]]:
    """Gather WeasyPrint's warnings (off the console), turn its failures into the project's errors
    naming the (first) source, and subset fonts the same way on every machine."""
    import weasyprint.pdf.fonts
    from weasyprint.urls import FatalURLFetchingError

    where = book.articles[0].source.path
    logger, collector = logging.getLogger("weasyprint"), _Collector(str(where))
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(collector)
    # fontTools, not HarfBuzz (whose subsets differ), dating each subset by the book through
    # SOURCE_DATE_EPOCH, not the clock: the same PDF bytes everywhere, always.  (TrueType dates
    # count from 1904: an older article's fonts are dated 1904-01-01.)
    backend, weasyprint.pdf.fonts.harfbuzz_subset = weasyprint.pdf.fonts.harfbuzz_subset, None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(max(_TRUETYPE_EPOCH, int(book.modified.timestamp())))
    try:
        yield collector.found
    except FatalURLFetchingError as refusal:
        raise ResourceError(str(refusal), path=where) from None
    except (ValueError, OSError, RuntimeError) as error:
        raise RenderError(f"PDF rendering failed: {error}", path=where) from error
    finally:
        logger.removeHandler(collector)
        logger.propagate = propagate
        weasyprint.pdf.fonts.harfbuzz_subset = backend
        if epoch is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = epoch


class _Collector(logging.Handler):
    """WeasyPrint's warnings, as diagnostics of *path*."""

    def __init__(self, path: str):
        super().__init__(logging.WARNING)
        self.path = path
        self.found: list[Diagnostic] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(_CHOSEN_SUBSETTER):  # (fontTools is taken on purpose)
            self.found.append(Diagnostic("PDF-RENDER", message, self.path))


def _glyph_warnings(text: str, book: Book, options: Options, boxes: str = "") -> list[Diagnostic]:
    """Name the characters the style's font lacks: those the bundled fallbacks (DejaVu Serif or Sans)
    draw, and those no bundled font has, which depend on the machine's fonts (*boxes*: those this
    machine drew as empty boxes)."""
    used = {ord(char) for char in text if not char.isspace()
            and unicodedata.category(char) not in {"Cc", "Cf", "Zs"}}
    _sheet, main, *serif = _STYLE_FONTS[options.style]
    outside = sorted(used - _coverage(main))
    if not outside and not boxes:  # (the usual case: the fallbacks' large tables need not be read)
        return []
    fallback = _coverage(_FALLBACK_FONT).union(*map(_coverage, serif))
    drawn = "".join(chr(c) for c in outside if c in fallback)
    missing = "".join(chr(c) for c in outside if c not in fallback)
    where = str(book.articles[0].source.path)
    found = []
    if drawn:
        found.append(Diagnostic("PDF-GLYPH-FALLBACK", f"the {options.style} style's font lacks "
                                f"{_describe(drawn)}; drawn with the bundled fallback font DejaVu",
                                where))
    boxes = "".join(sorted(set(boxes)))
    if set(boxes) >= set(missing) and boxes:
        found.append(Diagnostic("PDF-GLYPH-MISSING", f"no bundled font and no font on this machine has "
                                f"{_describe(boxes)}: drawn as empty boxes (a machine with such a font "
                                "draws them, and its PDF differs)", where))
    elif missing:
        boxed = f"; this one has none for {_describe(boxes)}: drawn as empty boxes" if boxes else ""
        found.append(Diagnostic("PDF-GLYPH-MISSING", f"no bundled font has {_describe(missing)}; "
                                f"they depend on the fonts of the machine that builds the PDF{boxed}",
                                where))
    return found


@functools.cache
def _coverage(font: str) -> frozenset[int]:
    """The characters the bundled *font* has."""
    from fontTools.ttLib import TTFont

    with TTFont(str(styles_dir() / "fonts" / font), lazy=True) as face:
        return frozenset(face.getBestCmap())


def _describe(characters: str, limit: int = 12) -> str:
    """The characters with their code points, shortened after *limit*."""
    shown = ", ".join(f"{char} (U+{ord(char):04X})" for char in characters[:limit])
    more = len(characters) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _source_attachments(book: Book, options: Options) -> list[Any]:
    """Every input of the book (relationship Source) and the record of its build (PDF/A-3),
    which :mod:`exporter.archive` reads back to prove the PDF by building it again."""
    from weasyprint import Attachment

    from ..archive import RECORD_NAME, book_inputs, book_record, contents

    moment = book.modified.replace(tzinfo=None)
    kept, read = book_inputs(book, options)
    record = book_record(book, options, kept, read)
    attachments = [
        Attachment(string=contents(path, read), name=name, created=moment, modified=moment,
                   description=f"Input of \u201c{book.metadata.title}\u201d (SHA-256 "
                               f"{record['inputs'][name]})", relationship="Source")
        for name, path in kept]
    text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")
    attachments.append(Attachment(string=text, name=RECORD_NAME, created=moment, modified=moment,
                                  description="How this PDF was made, to build it again",
                                  relationship="Supplement"))
    return attachments
