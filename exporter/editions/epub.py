"""The EPUB 3 edition, packaged with ebooklib and made byte-reproducible.

ebooklib writes the package document, the NCX and the ZIP; this module
writes the content and navigation documents itself (as strict XML), adds the
accessibility metadata ebooklib has no API for, and rewrites the ZIP with
fixed entry times and order so the same input always gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from html import escape

from lxml import etree

from .. import __version__
from ..assets import Asset
from ..book import Book
from ..cover import CoverText, draw_cover
from ..document import Document, Heading
from ..errors import RenderError
from ..metadata import Metadata
from ..options import Options
from ..resources import join_stylesheets, stylesheets_for
from ..session import Session
from ..userstyle import PackageFiles
from ..xhtml import drop_keeping_tail
from .html import head_metadata, title_block, w3c_time
from .pagemap import PageStart, mark_page_starts

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
_NAV = "nav.xhtml"
_CSS = "styles/book.css"
_COVER_PAGE = "cover.xhtml"
_COVER_IMAGE = "images/cover.jpg"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def chapter_name(book: Book, index: int) -> str:
    """The file of article *index* inside the EPUB."""
    return f"article-{index + 1:02d}.xhtml" if book.collection else "article.xhtml"


def render_epub(book: Book, options: Options, session: Session,
                pages: tuple[PageStart, ...] | None = None) -> bytes:
    """The EPUB edition's bytes; with *pages* (from the PDF edition) it carries a page list."""
    from ebooklib import epub

    meta = book.metadata
    package = epub.EpubBook()
    package.set_identifier(book.identifier)
    package.set_title(meta.title)
    package.set_language(meta.language)
    for number, author in enumerate(meta.authors, start=1):
        package.add_author(author, uid=f"creator{number}")
    _add_metadata(package, book, options if pages else None)

    files = PackageFiles()
    css = join_stylesheets(stylesheets_for("epub", options, embed=files))
    package.add_item(epub.EpubItem(uid="css", file_name=_CSS, media_type="text/css",
                                   content=css.encode("utf-8")))
    for number, (name, (media_type, data)) in enumerate(sorted(files.files.items()), start=1):
        package.add_item(epub.EpubItem(uid=f"style-file{number}", file_name=f"styles/{name}",
                                       media_type=media_type, content=data))
    for number, asset in enumerate(book.assets, start=1):
        package.add_item(epub.EpubItem(uid=f"image{number}", file_name=asset.name,
                                       media_type=asset.media_type, content=asset.data))
    given = _given_cover(book)
    cover_image = epub.EpubItem(
        uid="cover-image", file_name=_cover_name(book),
        media_type=given.media_type if given else "image/jpeg",
        content=given.data if given else _drawn_cover(cover_text(meta, options), session))
    cover_image.properties = ["cover-image"]
    package.add_item(cover_image)
    package.add_metadata(None, "meta", None, {"name": "cover", "content": "cover-image"})
    cover = epub.EpubItem(uid="cover", file_name=_COVER_PAGE, media_type="application/xhtml+xml",
                          content=cover_document(book))
    package.add_item(cover)
    chapters = []
    for index, document in enumerate(book.articles):
        starts = [start for start in pages or () if start.article == index]
        chapter = epub.EpubItem(uid=f"article{index + 1}", file_name=chapter_name(book, index),
                                media_type="application/xhtml+xml",
                                content=content_document(document, starts))
        package.add_item(chapter)
        chapters.append(chapter)
    nav = epub.EpubItem(uid="nav", file_name=_NAV, media_type="application/xhtml+xml",
                        content=nav_document(book, pages))
    nav.properties = ["nav"]
    package.add_item(nav)
    package.add_item(epub.EpubNcx())
    package.toc = _ncx_entries(book)
    package.spine = [cover, *chapters, (nav, "no")]

    buffer = io.BytesIO()
    try:
        # Level 0: the ZIP is written again (and compressed once) by normalize_zip.
        epub.write_epub(buffer, package, {"mtime": book.modified, "raise_exceptions": True,
                                          "epub3_pages": False, "epub3_landmark": False,
                                          "epub2_guide": False, "compresslevel": 0})
    except Exception as error:  # ebooklib raises whatever its parts raise
        raise RenderError(f"EPUB packaging failed: {error}") from error
    return normalize_zip(buffer.getvalue(), meta.language, w3c_time(book.modified))


def _add_metadata(package: object, book: Book, paged: Options | None) -> None:
    meta = book.metadata
    add = package.add_metadata  # type: ignore[attr-defined]
    if meta.date and meta.date.iso:
        add("DC", "date", meta.date.iso)
    if meta.description:
        add("DC", "description", meta.description)
    for subject in meta.subjects:
        add("DC", "subject", subject)
    if meta.publisher:
        add("DC", "publisher", meta.publisher)
    if meta.rights:
        add("DC", "rights", meta.rights)
    if meta.source_url:
        add("DC", "source", meta.source_url)
    add(None, "meta", None, {"name": "generator", "content": f"exporter {__version__}"})
    for name, value in accessibility_metadata(paged is not None):
        add(None, "meta", value, {"property": name})
    if paged is not None:
        # (not the PDF's file name: a piped article has none, and its EPUB is the same)
        source = (f"the PDF edition built from the same source ({paged.page_size}, "
                  f"{paged.style} style)")
        add(None, "meta", source, {"property": "pageBreakSource"})


def accessibility_metadata(paged: bool) -> list[tuple[str, str]]:
    """EPUB Accessibility 1.1 metadata: access modes, features, hazards and a summary."""
    # The cover is an image, so every edition has a visual mode and alternative text.
    features = ["structuralNavigation", "tableOfContents", "readingOrder",
                "displayTransformability", "alternativeText", "unlocked"]
    if paged:
        features += ["printPageNumbers", "pageBreakMarkers", "pageNavigation"]
    summary = (
        "This publication meets EPUB Accessibility 1.1 and WCAG 2.2 Level AA. Its text reflows, "
        "its sections are marked with headings listed in the table of contents, tables have "
        "header cells, the cover and every image have text alternatives"
        + (", page numbers match the PDF edition" if paged else "")
        + ", and it carries no flashing, motion or sound hazards."
    )
    pairs = [("schema:accessMode", "textual"), ("schema:accessMode", "visual"),
             ("schema:accessModeSufficient", "textual")]
    pairs += [("schema:accessibilityFeature", feature) for feature in features]
    pairs.append(("schema:accessibilityHazard", "none"))
    pairs.append(("schema:accessibilitySummary", summary))
    pairs.append(("dcterms:conformsTo", "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"))
    return pairs


def _xhtml(title: str, language: str, head: str, body: str, body_type: str,
           pages: list[PageStart] | None = None) -> bytes:
    markup = (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="{XHTML}" xmlns:epub="{OPS}" lang="{escape(language)}" '
        f'xml:lang="{escape(language)}">\n<head>\n<meta charset="utf-8"/>\n'
        f"<title>{escape(title)}</title>\n{head}</head>\n"
        f'<body epub:type="{body_type}">\n{body}\n</body>\n</html>\n'
    )
    try:
        root = etree.fromstring(markup.encode("utf-8"))
    except etree.XMLSyntaxError as error:
        raise RenderError(f"content document is not well-formed XML: {error}") from error
    _epub_footnotes(root)
    if pages:
        mark_page_starts(root, pages)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True, doctype="<!DOCTYPE html>")


def _given_cover(book: Book) -> Asset | None:
    """The cover image the front matter names (single articles only; books draw theirs)."""
    return None if book.collection else book.articles[0].cover


def _cover_name(book: Book) -> str:
    given = _given_cover(book)
    return "images/cover.png" if given and given.media_type == "image/png" else _COVER_IMAGE


def _drawn_cover(text: CoverText, session: Session) -> bytes:
    return session.keep("cover", text, lambda: draw_cover(text))


def cover_text(metadata: Metadata, options: Options) -> CoverText:
    """What the drawn cover of a book with *metadata* shows, in the style of *options*."""
    date = metadata.date.display(metadata.language) if metadata.date else None
    return CoverText(metadata.title, metadata.authors, date, metadata.description, options.style)


def cover_document(book: Book) -> bytes:
    """The cover page: the cover image, described for readers who cannot see it."""
    meta = book.metadata
    alt = f"Cover: {meta.title}"
    if meta.authors:
        alt += f", by {', '.join(meta.authors)}"
    head = f'<link rel="stylesheet" type="text/css" href="{_CSS}"/>\n'
    body = (f'<section class="cover" epub:type="cover">\n<img src="{_cover_name(book)}" '
            f'role="doc-cover" alt="{escape(alt)}"/>\n</section>')
    return _xhtml(meta.title, meta.language, head, body, "cover")


def content_document(document: Document, pages: list[PageStart] | None = None) -> bytes:
    """An article as an XHTML content document with EPUB 3 footnotes and page-break markers."""
    meta = document.metadata
    head = ("\n".join(head_metadata(meta, document.modified))
            + f'\n<link rel="stylesheet" type="text/css" href="{_CSS}"/>\n')
    body = (f'<main>\n<article aria-labelledby="title">\n{title_block(meta)}\n'
            f'<div class="body">\n{document.body}\n</div>\n</article>\n</main>')
    try:
        return _xhtml(meta.title, meta.language, head, body, "bodymatter", pages)
    except RenderError as error:
        raise RenderError(error.message, path=document.source.path) from None


def _epub_footnotes(root: etree._Element) -> None:
    """Python-Markdown's footnote list becomes EPUB 3 ``aside`` footnotes with back links."""
    q = f"{{{XHTML}}}"
    for ref in root.iter(f"{q}a"):
        if "footnote-ref" in (ref.get("class") or ""):
            ref.set(f"{{{OPS}}}type", "noteref")
            ref.set("role", "doc-noteref")
        elif "footnote-backref" in (ref.get("class") or ""):
            ref.set("role", "doc-backlink")
    for block in list(root.iter(f"{q}div")):
        if "footnote" not in (block.get("class") or "").split():
            continue
        notes = etree.Element(f"{q}section", {"class": "footnotes", "role": "doc-endnotes"})
        notes.set(f"{{{OPS}}}type", "footnotes")
        heading = etree.SubElement(notes, f"{q}h2", {"class": "footnotes-title"})
        heading.text = "Notes"
        for number, item in enumerate(block.iter(f"{q}li"), start=1):
            aside = etree.SubElement(notes, f"{q}aside", {"id": item.get("id", ""),
                                                          "class": "footnote",
                                                          "role": "doc-footnote"})
            aside.set(f"{{{OPS}}}type", "footnote")
            aside.text = item.text
            aside.extend(list(item))
            _number_note(aside, number)
        notes.tail = block.tail
        parent = block.getparent()
        if parent is not None:
            parent.replace(block, notes)


def _number_note(aside: etree._Element, number: int) -> None:
    """Open the note with its number, which is its back link: the list that numbered it is gone."""
    q = f"{{{XHTML}}}"
    back = next((a for a in aside.iter(f"{q}a") if a.get("role") == "doc-backlink"), None)
    first = aside[0] if len(aside) and aside[0].tag == f"{q}p" else aside
    if back is None:
        return
    drop_keeping_tail(back)
    back.text, back.tail = str(number), ". " + (first.text or "")
    first.text = None
    first.insert(0, back)


def nav_document(book: Book, pages: tuple[PageStart, ...] | None = None) -> bytes:
    """The EPUB navigation document: table of contents (nested by article), landmarks, pages."""
    meta = book.metadata
    entries = []
    for index, document in enumerate(book.articles):
        name = chapter_name(book, index)
        entries.append(f'<li><a href="{name}#title">{escape(document.metadata.title)}</a>'
                       f"{_nav_list(name, document.headings)}</li>")
    toc = "\n".join(entries)
    first = chapter_name(book, 0)
    body = (
        f'<nav epub:type="toc" id="toc" role="doc-toc" aria-labelledby="toc-title">\n'
        f'<h1 id="toc-title">Contents</h1>\n<ol>\n{toc}\n</ol>\n</nav>\n'
        '<nav epub:type="landmarks" id="landmarks" aria-labelledby="landmarks-title" hidden="hidden">\n'
        '<h2 id="landmarks-title">Landmarks</h2>\n<ol>\n'
        f'<li><a epub:type="cover" href="{_COVER_PAGE}">Cover</a></li>\n'
        f'<li><a epub:type="toc" href="{_NAV}#toc">Contents</a></li>\n'
        f'<li><a epub:type="bodymatter" href="{first}">{escape(meta.title)}</a></li>\n'
        "</ol>\n</nav>"
    )
    if pages:
        items = "\n".join(
            f'<li><a href="{chapter_name(book, page.article)}#page-{page.number}">{page.number}</a></li>'
            for page in pages)
        body += ('\n<nav epub:type="page-list" id="page-list" aria-labelledby="page-list-title" '
                 f'hidden="hidden">\n<h2 id="page-list-title">Pages</h2>\n<ol>\n{items}\n</ol>\n</nav>')
    head = f'<link rel="stylesheet" type="text/css" href="{_CSS}"/>\n'
    return _xhtml(meta.title, meta.language, head, body, "frontmatter")


def _nav_list(chapter: str, headings: tuple[Heading, ...]) -> str:
    """Nested ``<ol>`` of the headings, each one inside the last heading of lower level."""
    if not headings:
        return ""
    out, depth = ["<ol>"], 0
    for index, heading in enumerate(headings):
        if index and heading.depth > depth:
            out.append("<ol>")
        elif index:
            out.append("</li>" + "</ol></li>" * (depth - heading.depth))
        depth = heading.depth
        out.append(f'<li><a href="{chapter}#{escape(heading.id)}">{escape(heading.text)}</a>')
    out.append("</li>" + "</ol></li>" * depth + "</ol>")
    return "".join(out)


def _ncx_entries(book: Book) -> list[object]:
    from ebooklib import epub

    entries: list[object] = []
    for index, document in enumerate(book.articles):
        name = chapter_name(book, index)
        article = epub.Link(f"{name}#title", document.metadata.title, f"nav-a{index + 1}")
        sections = [epub.Link(f"{name}#{h.id}", h.text, f"nav-a{index + 1}-{h.id}")
                    for h in document.headings]
        entries.append((epub.Section(document.metadata.title, f"{name}#title"), sections)
                       if sections else article)
    return entries


#: Media stored without deflating in the EPUB's ZIP: compressed already.
_COMPRESSED_MEDIA = (".png", ".gif", ".webp", ".jpg", ".jpeg", ".woff", ".woff2")


def normalize_zip(data: bytes, language: str, modified: str) -> bytes:
    """Rewrite an EPUB's ZIP with ``mimetype`` first and stored, and fixed entry times.

    The package document also gets the ``xml:lang`` that ebooklib leaves out, and its
    ``dcterms:modified`` as *modified* (ebooklib's has no leading zeros before year 1000).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    entries = [(name, _package_language(payload, language, modified) if name.endswith(".opf") else payload)
               for name, payload in entries]
    order = {"mimetype": 0, "META-INF/container.xml": 1}
    entries.sort(key=lambda entry: (order.get(entry[0], 2), entry[0]))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as target:
        for name, payload in entries:
            target.writestr(_entry(name), payload, compresslevel=9)
    return output.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    """The ZIP entry for *name*: fixed time and mode, stored or deflated by its kind."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.create_system = 3
    info.external_attr = 0o644 << 16
    # Images and fonts are compressed already: deflating a photograph saves 1 % to 3 %.
    packed = name == "mimetype" or name.lower().endswith(_COMPRESSED_MEDIA)
    info.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
    return info


def _package_language(opf: bytes, language: str, modified: str) -> bytes:
    root = etree.fromstring(opf)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", language)
    for meta in root.iter("{http://www.idpf.org/2007/opf}meta"):
        if meta.get("property") == "dcterms:modified":
            meta.text = modified
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)
