"""The HTML edition: one self-contained page, stylesheet inlined, images as data URLs.

:func:`compose_html` is shared: the PDF edition renders the same markup with
its paged stylesheets, and the EPUB edition wraps the same title block and body.
"""

from __future__ import annotations

from html import escape

from .. import __version__
from ..document import Document
from ..options import Options
from ..resources import stylesheets_for
from ..xhtml import parse_fragment, serialize_fragment

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def render_html(document: Document, options: Options) -> bytes:
    """The HTML edition's bytes."""
    css = "\n".join(sheet.text for sheet in stylesheets_for("html", options))
    return compose_html(document, css=css, inline_images=True).encode("utf-8")


def compose_html(document: Document, *, css: str | None, inline_images: bool) -> str:
    """A complete HTML document for *document*, with *css* inlined when given."""
    meta = document.metadata
    head = [
        '<meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        '<meta name="color-scheme" content="light dark"/>',
        f"<title>{escape(meta.title)}</title>",
        *head_metadata(document),
    ]
    if css is not None:
        head.append(f"<style>\n{css}\n</style>")
    body = document.body
    if inline_images and document.assets:
        body = _inline_images(document)
    lang = escape(meta.language)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n' + "\n".join(head) + "\n</head>\n"
        f'<body>\n<main>\n<article aria-labelledby="title">\n{title_block(document)}\n'
        f'<div class="body">\n{body}\n</div>\n</article>\n</main>\n</body>\n</html>\n'
    )


def head_metadata(document: Document) -> list[str]:
    """``<meta>`` elements naming author, description, subjects and dates (read by WeasyPrint)."""
    meta = document.metadata
    items = [("generator", f"exporter {__version__}")]
    items += [("author", author) for author in meta.authors]
    if meta.description:
        items.append(("description", meta.description))
    if meta.subjects:
        items.append(("keywords", ", ".join(meta.subjects)))
    stamp = document.modified.strftime("%Y-%m-%dT%H:%M:%SZ")
    items += [("dcterms.created", stamp), ("dcterms.modified", stamp)]
    return [f'<meta name="{name}" content="{escape(value)}"/>' for name, value in items]


def title_block(document: Document) -> str:
    """The article's header: title, subtitle, byline with date, and description."""
    meta = document.metadata
    parts = [f'<header class="title-block">\n<h1 id="title" class="title">{escape(meta.title)}</h1>']
    if meta.subtitle:
        parts.append(f'<p class="subtitle">{escape(meta.subtitle)}</p>')
    byline = []
    if meta.authors:
        byline.append('<span class="authors">' + escape(_join(meta.authors, meta.language))
                      + "</span>")
    if meta.date:
        byline.append(f'<time datetime="{meta.date.isoformat()}">'
                      f"{escape(format_date(meta.date, meta.language))}</time>")
    if byline:
        parts.append('<p class="byline">' + ' <span class="sep">·</span> '.join(byline) + "</p>")
    if meta.description:
        parts.append(f'<p class="description">{escape(meta.description)}</p>')
    parts.append("</header>")
    return "\n".join(parts)


def format_date(date: object, language: str) -> str:
    """A date as readers of *language* write it (English words, else ISO 8601)."""
    import datetime as dt

    assert isinstance(date, dt.date)
    if language.lower().startswith("en"):
        return f"{date.day} {_MONTHS[date.month - 1]} {date.year}"
    return date.isoformat()


def _join(names: tuple[str, ...], language: str) -> str:
    if len(names) < 2:
        return "".join(names)
    conjunction = " and " if language.lower().startswith("en") else " & "
    return ", ".join(names[:-1]) + conjunction + names[-1]


def _inline_images(document: Document) -> str:
    """The body with each asset's name replaced by its data URL."""
    uris = {asset.name: asset.data_uri() for asset in document.assets}
    root = parse_fragment(document.body)
    for image in root.iter("img"):
        src = image.get("src", "")
        if src in uris:
            image.set("src", uris[src])
    return serialize_fragment(root)
