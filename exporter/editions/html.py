"""The HTML edition: one self-contained page, stylesheet inlined, images as data URLs (the PDF
renders the same markup, the EPUB reuses its title block)."""

from __future__ import annotations

import datetime as dt
from html import escape

from .. import __version__
from ..book import Book
from ..metadata import Metadata, labels, right_to_left
from ..options import Options
from ..resources import join_stylesheets, stylesheets_for
from ..xhtml import inline_footnotes, parse_fragment, prefix_ids, serialize_fragment

#: A single article lists its sections before the text from this many on (unless told).
TOC_MIN_SECTIONS = 3


def render_html(book: Book, options: Options) -> bytes:
    """The HTML edition's bytes."""
    css = join_stylesheets(stylesheets_for("html", options))
    return compose_html(book, options, css=css, paged=False).encode("utf-8")


def compose_html(book: Book, options: Options, *, css: str | None, paged: bool,
                 generator: str = f"exporter {__version__}") -> str:
    """A complete HTML document for *book*; *paged* prepares it for the PDF edition."""
    meta = book.metadata
    head = [
        '<meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        '<meta name="color-scheme" content="light dark"/>',
        f"<title>{escape(meta.title)}</title>",
        *head_metadata(meta, book.modified, generator),
    ]
    if css is not None:
        head.append(f"<style>\n{css}\n</style>")
    sections = sum(1 for heading in book.articles[0].headings if heading.depth == 0)
    wanted = (book.collection or sections >= TOC_MIN_SECTIONS) if options.toc is None else options.toc
    toc = contents(book) if wanted else ""
    parts = []
    if book.collection:
        parts.append(f'<section class="book-title-page" aria-labelledby="book-title">\n'
                     f"{title_block(meta, 'book-title', heading_class='book-title')}\n</section>")
        parts.append(toc)
        toc = ""
    for index, document in enumerate(book.articles):
        prefix = book.prefix(index)
        parts.append(
            f'<article id="{prefix}article" class="chapter" aria-labelledby="{prefix}title">\n'
            f"{title_block(document.metadata, prefix + 'title')}\n{toc}\n"
            f'<div class="body">\n{_body(book, index, paged)}\n</div>\n</article>'
        )
    kind = "collection" if book.collection else "single"
    direction = ' dir="rtl"' if right_to_left(meta.language) else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(meta.language)}"{direction} '
        f'class="{kind}">\n<head>\n'
        + "\n".join(head) + "\n</head>\n<body>\n<main>\n" + "\n".join(parts)
        + "\n</main>\n</body>\n</html>\n"
    )


def _body(book: Book, index: int, paged: bool) -> str:
    """Article *index*'s body: ids prefixed, images inlined, footnotes placed for paged media."""
    document = book.articles[index]
    root = parse_fragment(document.body)
    prefix_ids(root, book.prefix(index))
    uris = {asset.name: asset.data_uri() for asset in document.assets}
    for image in root.iter("img"):
        if image.get("src", "") in uris:
            image.set("src", uris[image.get("src", "")])
    if paged:
        inline_footnotes(root)
    return serialize_fragment(root)


def contents(book: Book) -> str:
    """The contents list: articles (for a collection) or sections, linked for page numbers."""
    if book.collection:
        entries = [(book.prefix(i) + "title", doc.metadata.title, ", ".join(doc.metadata.authors))
                   for i, doc in enumerate(book.articles)]
    else:
        entries = [(h.id, h.text, "") for h in book.articles[0].headings if h.depth == 0]
    items = "\n".join(
        f'<li><a href="#{escape(target)}"><span class="toc-text">{escape(text)}</span></a>'
        + (f' <span class="toc-byline">{escape(byline)}</span>' if byline else "") + "</li>"
        for target, text, byline in entries
    )
    return (f'<nav class="toc" role="doc-toc" aria-labelledby="toc-title">\n'
            f'<h2 id="toc-title" class="toc-title">{labels(book.metadata.language).contents}</h2>\n'
            f'<ol>\n{items}\n</ol>\n</nav>')


def head_metadata(meta: Metadata, modified: dt.datetime,
                  generator: str = f"exporter {__version__}") -> list[str]:
    """``<meta>`` elements naming author, description, subjects and dates (read by WeasyPrint)."""
    items = [("generator", generator)]
    items += [("author", author) for author in meta.authors]
    if meta.description:
        items.append(("description", meta.description))
    if meta.subjects:
        items.append(("keywords", ", ".join(meta.subjects)))
    stamp = w3c_time(modified)
    items += [("dcterms.created", stamp), ("dcterms.modified", stamp)]
    return [f'<meta name="{name}" content="{escape(value)}"/>' for name, value in items]


def title_block(meta: Metadata, heading_id: str = "title", heading_class: str = "title") -> str:
    """A title header: title, subtitle, byline with date, and description."""
    parts = [f'<header class="title-block">\n<h1 id="{escape(heading_id)}" '
             f'class="{heading_class}">{escape(meta.title)}</h1>']
    if meta.subtitle:
        parts.append(f'<p class="subtitle">{escape(meta.subtitle)}</p>')
    byline = []
    if meta.authors:
        byline.append('<span class="authors">' + escape(join_names(meta.authors, meta.language))
                      + "</span>")
    if meta.date and meta.date.iso:
        byline.append(f'<time datetime="{meta.date.iso}">'
                      f"{escape(meta.date.display(meta.language))}</time>")
    elif meta.date:
        byline.append(f'<span class="date">{escape(meta.date.written)}</span>')
    if byline:
        parts.append('<p class="byline">' + ' <span class="sep">·</span> '.join(byline) + "</p>")
    if meta.description:
        parts.append(f'<p class="description">{escape(meta.description)}</p>')
    parts.append("</header>")
    return "\n".join(parts)


def join_names(names: tuple[str, ...], language: str) -> str:
    """*names* as a byline says them: ``A, B and C``, in the article's language."""
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + labels(language).and_ + names[-1]


def w3c_time(moment: dt.datetime) -> str:
    """*moment* (UTC) as ``YYYY-MM-DDThh:mm:ssZ``, the year in four digits even before 1000."""
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"
