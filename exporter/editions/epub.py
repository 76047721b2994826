"""The EPUB 3 edition: ebooklib packages the documents written here (strict XHTML, accessibility
metadata), and the ZIP is written again with fixed times and order, so the bytes are reproducible."""

from __future__ import annotations

import io
import zipfile
from html import escape
from pathlib import Path

from lxml import etree

from .. import __version__
from ..book import Book
from ..cover import CoverText, draw_cover
from ..document import Document, Heading
from ..errors import RenderError
from ..metadata import labels, right_to_left
from ..options import Options
from ..resources import join_stylesheets, stylesheets_for
from ..session import Session
from ..userstyle import PackageFiles
from ..xhtml import drop_keeping_tail
from .html import head_metadata, join_names, title_block, w3c_time
from .pagemap import OPS, XHTML, PageStart, mark_page_starts

_OPF = "http://www.idpf.org/2007/opf"
_NAV = "nav.xhtml"
_CSS = "styles/book.css"
_CSS_LINK = f'<link rel="stylesheet" type="text/css" href="{_CSS}"/>\n'
_COVER_PAGE = "cover.xhtml"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: Media stored without deflating in the EPUB's ZIP: compressed already.
_COMPRESSED_MEDIA = (".png", ".gif", ".webp", ".jpg", ".jpeg", ".woff", ".woff2")


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
    if right_to_left(meta.language):  # (the spine's page-progression-direction)
        package.set_direction("rtl")
    for number, author in enumerate(meta.authors, start=1):
        package.add_author(author, uid=f"creator{number}")
    dublin_core = [("date", meta.date.iso if meta.date else None), ("description", meta.description),
                   *(("subject", subject) for subject in meta.subjects),
                   ("publisher", meta.publisher), ("rights", meta.rights), ("source", meta.source_url)]
    for name, value in dublin_core:
        if value:
            package.add_metadata("DC", name, value)
    package.add_metadata(None, "meta", None, {"name": "generator", "content": f"exporter {__version__}"})
    for name, value in accessibility_metadata(bool(pages)):
        package.add_metadata(None, "meta", value, {"property": name})
    if pages:
        # (not the PDF's file name: a piped article has none, and its EPUB is the same)
        package.add_metadata(None, "meta", f"the PDF edition built from the same source "
                             f"({options.page_size}, {options.style} style)", {"property": "pageBreakSource"})

    def add(uid: str, name: str, media_type: str, content: bytes) -> epub.EpubItem:
        item = epub.EpubItem(uid=uid, file_name=name, media_type=media_type, content=content)
        package.add_item(item)
        return item

    files = PackageFiles()
    css = join_stylesheets(stylesheets_for("epub", options, embed=files))
    add("css", _CSS, "text/css", css.encode("utf-8"))
    for number, (name, (media_type, data)) in enumerate(sorted(files.files.items()), start=1):
        add(f"style-file{number}", f"styles/{name}", media_type, data)
    for number, asset in enumerate(book.assets, start=1):
        add(f"image{number}", asset.name, asset.media_type, asset.data)
    given = None if book.collection else book.articles[0].cover  # (a book draws its own)
    if given is not None:
        media_type, picture = given.media_type, given.data
    else:
        byline = (join_names(meta.authors, meta.language),) if meta.authors else ()  # (as the title page's)
        text = CoverText(meta.title, byline, meta.date.display(meta.language) if meta.date else None,
                         meta.description, options.style)
        media_type, picture = "image/jpeg", session.keep("cover", text, lambda: draw_cover(text))
    cover_name = "images/cover.png" if media_type == "image/png" else "images/cover.jpg"
    add("cover-image", cover_name, media_type, picture).properties = ["cover-image"]
    package.add_metadata(None, "meta", None, {"name": "cover", "content": "cover-image"})
    cover = add("cover", _COVER_PAGE, "application/xhtml+xml", cover_document(book, cover_name))
    chapters = [add(f"article{index + 1}", chapter_name(book, index), "application/xhtml+xml",
                    content_document(document, [s for s in pages or () if s.article == index]))
                for index, document in enumerate(book.articles)]
    nav = add("nav", _NAV, "application/xhtml+xml", nav_document(book, pages))
    nav.properties = ["nav"]
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


def accessibility_metadata(paged: bool) -> list[tuple[str, str]]:
    """EPUB Accessibility 1.1 metadata: access modes, features, hazards and a summary."""
    # The cover is an image, so every edition has a visual mode and alternative text.
    features = ["structuralNavigation", "tableOfContents", "readingOrder", "displayTransformability",
                "alternativeText", "unlocked"]
    if paged:
        features += ["printPageNumbers", "pageBreakMarkers", "pageNavigation"]
    summary = (
        "This publication meets EPUB Accessibility 1.1 and WCAG 2.2 Level AA. Its text reflows, "
        "its sections are marked with headings listed in the table of contents, tables have "
        "header cells, the cover and every image have text alternatives"
        + (", page numbers match the PDF edition" if paged else "")
        + ", and it carries no flashing, motion or sound hazards."
    )
    return [("schema:accessMode", "textual"), ("schema:accessMode", "visual"),
            ("schema:accessModeSufficient", "textual"),
            *(("schema:accessibilityFeature", feature) for feature in features),
            ("schema:accessibilityHazard", "none"), ("schema:accessibilitySummary", summary),
            ("dcterms:conformsTo", "EPUB Accessibility 1.1 - WCAG 2.2 Level AA")]


def _xhtml(title: str, language: str, head: str, body: str, body_type: str,
           pages: list[PageStart] | None = None, path: Path | None = None) -> bytes:
    """A content document from its parts, checked to be well-formed, footnotes and pages marked."""
    direction = ' dir="rtl"' if right_to_left(language) else ""
    markup = (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="{XHTML}" xmlns:epub="{OPS}" lang="{escape(language)}"{direction} '
        f'xml:lang="{escape(language)}">\n<head>\n<meta charset="utf-8"/>\n'
        f"<title>{escape(title)}</title>\n{head}</head>\n"
        f'<body epub:type="{body_type}">\n{body}\n</body>\n</html>\n'
    )
    try:
        root = etree.fromstring(markup.encode("utf-8"))
    except etree.XMLSyntaxError as error:
        raise RenderError(f"content document is not well-formed XML: {error}", path=path) from None
    _epub_footnotes(root, labels(language).notes)
    if pages:
        mark_page_starts(root, pages)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True, doctype="<!DOCTYPE html>")


def cover_document(book: Book, image: str) -> bytes:
    """The cover page: the cover *image*, described for readers who cannot see it."""
    meta = book.metadata
    words = labels(meta.language)
    alt = f"{words.cover}: {meta.title}" + (words.by.format(join_names(meta.authors, meta.language))
                                             if meta.authors else "")
    body = (f'<section class="cover" epub:type="cover">\n<img src="{image}" '
            f'role="doc-cover" alt="{escape(alt)}"/>\n</section>')
    return _xhtml(meta.title, meta.language, _CSS_LINK, body, "cover")


def content_document(document: Document, pages: list[PageStart] | None = None) -> bytes:
    """An article as an XHTML content document with EPUB 3 footnotes and page-break markers."""
    meta = document.metadata
    head = "\n".join(head_metadata(meta, document.modified)) + "\n" + _CSS_LINK
    body = (f'<main>\n<article aria-labelledby="title">\n{title_block(meta)}\n'
            f'<div class="body">\n{document.body}\n</div>\n</article>\n</main>')
    return _xhtml(meta.title, meta.language, head, body, "bodymatter", pages, document.source.path)


def _epub_footnotes(root: etree._Element, heading: str) -> None:
    """Python-Markdown's footnote list becomes EPUB 3 ``aside`` footnotes with back links, under
    *heading*."""
    q = f"{{{XHTML}}}"
    for ref in root.iter(f"{q}a"):
        if "footnote-ref" in (ref.get("class") or ""):
            ref.set(f"{{{OPS}}}type", "noteref")
            ref.set("role", "doc-noteref")
        elif "footnote-backref" in (ref.get("class") or ""):
            ref.set("role", "doc-backlink")
    for block in list(root.iter(f"{q}div")):
        parent, items = block.getparent(), block.findall(f"{q}ol/{q}li[@id]")
        if "footnote" not in (block.get("class") or "").split() or parent is None or not items:
            continue  # (not Python-Markdown's list of notes, whose items have ids: raw HTML)
        notes = etree.Element(f"{q}section", {"class": "footnotes", "role": "doc-endnotes",
                                              f"{{{OPS}}}type": "footnotes"})
        etree.SubElement(notes, f"{q}h2", {"class": "footnotes-title"}).text = heading
        for number, item in enumerate(items, start=1):
            aside = etree.SubElement(notes, f"{q}aside", {"id": item.get("id", ""), "class": "footnote",
                                                          "role": "doc-footnote",
                                                          f"{{{OPS}}}type": "footnote"})
            aside.text = item.text
            aside.extend(list(item))
            # The note opens with its number, which is its back link: the list that numbered it is gone.
            back = next((a for a in aside.iter(f"{q}a") if a.get("role") == "doc-backlink"), None)
            if back is not None:
                first = aside[0] if aside[0].tag == f"{q}p" else aside
                drop_keeping_tail(back)
                back.text, back.tail = str(number), ". " + (first.text or "")
                first.text = None
                first.insert(0, back)
        notes.tail = block.tail
        parent.replace(block, notes)


def nav_document(book: Book, pages: tuple[PageStart, ...] | None = None) -> bytes:
    """The EPUB navigation document: table of contents (nested by article), landmarks, pages."""
    meta, words = book.metadata, labels(book.metadata.language)
    toc = "\n".join(f'<li><a href="{chapter_name(book, index)}#title">{escape(document.metadata.title)}'
                    f"</a>{_nav_list(chapter_name(book, index), document.headings)}</li>"
                    for index, document in enumerate(book.articles))
    body = (
        f'<nav epub:type="toc" id="toc" role="doc-toc" aria-labelledby="toc-title">\n'
        f'<h1 id="toc-title">{words.contents}</h1>\n<ol>\n{toc}\n</ol>\n</nav>\n'
        '<nav epub:type="landmarks" id="landmarks" aria-labelledby="landmarks-title" hidden="hidden">\n'
        f'<h2 id="landmarks-title">{words.landmarks}</h2>\n<ol>\n'
        f'<li><a epub:type="cover" href="{_COVER_PAGE}">{words.cover}</a></li>\n'
        f'<li><a epub:type="toc" href="{_NAV}#toc">{words.contents}</a></li>\n'
        f'<li><a epub:type="bodymatter" href="{chapter_name(book, 0)}">{escape(meta.title)}</a></li>\n'
        "</ol>\n</nav>"
    )
    if pages:
        items = "\n".join(
            f'<li><a href="{chapter_name(book, page.article)}#page-{page.number}">{page.number}</a></li>'
            for page in pages)
        body += ('\n<nav epub:type="page-list" id="page-list" aria-labelledby="page-list-title" '
                 f'hidden="hidden">\n<h2 id="page-list-title">{words.pages}</h2>\n'
                 f'<ol>\n{items}\n</ol>\n</nav>')
    return _xhtml(meta.title, meta.language, _CSS_LINK, body, "frontmatter")


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
        name, title = chapter_name(book, index), document.metadata.title
        sections = [epub.Link(f"{name}#{h.id}", h.text, f"nav-a{index + 1}-{h.id}")
                    for h in document.headings]
        entries.append((epub.Section(title, f"{name}#title"), sections) if sections
                       else epub.Link(f"{name}#title", title, f"nav-a{index + 1}"))
    return entries


def normalize_zip(data: bytes, language: str, modified: str) -> bytes:
    """Write an EPUB's ZIP again: ``mimetype`` first and stored, fixed entry times, and the package's
    ``xml:lang`` and four-digit-year ``dcterms:modified`` that ebooklib leaves out."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    order = {"mimetype": 0, "META-INF/container.xml": 1}
    entries.sort(key=lambda entry: (order.get(entry[0], 2), entry[0]))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as target:
        for name, payload in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            # Images and fonts are compressed already: deflating a photograph saves 1 % to 3 %.
            packed = name == "mimetype" or name.lower().endswith(_COMPRESSED_MEDIA)
            info.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
            if name.endswith(".opf"):
                root = etree.fromstring(payload)
                root.set(_XML_LANG, language)
                for meta in root.iter(f"{{{_OPF}}}meta"):
                    if meta.get("property") == "dcterms:modified":
                        meta.text = modified
                payload = etree.tostring(root, encoding="utf-8", xml_declaration=True)
            target.writestr(info, payload, compresslevel=9)
    return output.getvalue()
