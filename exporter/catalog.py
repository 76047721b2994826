"""A library page and an OPDS 1.2 catalog of the editions built, each entry read back from its
EPUB; links are relative and dates the articles', so the folder can be served anywhere."""

from __future__ import annotations

import io
import os
import re
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from lxml import etree

from .errors import OutputError, UsageProblem
from .metadata import IDENTIFIER_NAMESPACE, PublicationDate
from .resources import read_bundled

if TYPE_CHECKING:
    from .pipeline import Output

INDEX_NAME, FEED_NAME, COVERS = "index.html", "catalog.xml", "covers"
FEED_TYPE = "application/atom+xml;profile=opds-catalog;kind=acquisition"
MEDIA_TYPES = {"epub": "application/epub+zip", "pdf": "application/pdf", "html": "text/html"}
#: Largest thumbnail, in pixels: twice the page's cover size, for dense screens.
THUMBNAIL = (240, 360)
_ATOM, _DC, _OPF = "http://www.w3.org/2005/Atom", "http://purl.org/dc/terms/", "http://www.idpf.org/2007/opf"
_DC_EPUB = "http://purl.org/dc/elements/1.1/"
_ACQUISITION, _IMAGE = "http://opds-spec.org/acquisition", "http://opds-spec.org/image"


@dataclass(frozen=True)
class Entry:
    """One publication as its EPUB describes it, and its editions in the folder."""

    stem: str
    identifier: str
    title: str
    language: str
    #: The EPUB's ``dcterms:modified``, and its ``dc:date`` (W3CDTF, as precise as the article).
    updated: str
    authors: tuple[str, ...] = ()
    date: str | None = None
    description: str = ""
    subjects: tuple[str, ...] = ()
    publisher: str = ""
    rights: str = ""
    #: Editions by format: the link (relative to the folder) and the size in bytes.
    editions: tuple[tuple[str, str, int], ...] = ()
    cover: bytes = b""
    cover_type: str = "image/jpeg"

    @property
    def atom_id(self) -> str:
        """The identifier when it is an absolute IRI (``urn:``, ``https:``), else one derived."""
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^ ]*", self.identifier):
            return self.identifier
        return f"urn:uuid:{uuid.uuid5(IDENTIFIER_NAMESPACE, self.identifier)}"

    @property
    def cover_name(self) -> str:
        """The cover's file in the folder (never a thumbnail's name: its ending differs)."""
        return f"{COVERS}/{self.stem}.cover{'.png' if self.cover_type == 'image/png' else '.jpg'}"

    @property
    def thumbnail_name(self) -> str:
        return f"{COVERS}/{self.stem}.thumbnail.jpg"


def read_entry(editions: Sequence[Output], folder: Path) -> Entry:
    """The entry of one publication from its written editions (one of them an EPUB)."""
    epub = next(output.path for output in editions if output.format == "epub")
    try:
        with zipfile.ZipFile(epub) as package:
            container = etree.fromstring(package.read("META-INF/container.xml"))
            opf_name = str(container.find(".//{*}rootfile").get("full-path"))  # type: ignore[union-attr]
            opf = etree.fromstring(package.read(opf_name))
            cover_item = opf.find(f".//{{{_OPF}}}item[@properties='cover-image']")
            cover = b""
            if cover_item is not None:
                base = opf_name.rpartition("/")[0]
                cover = package.read(f"{base}/{cover_item.get('href')}".lstrip("/"))
    except (OSError, KeyError, AttributeError, zipfile.BadZipFile, etree.XMLSyntaxError) as error:
        raise OutputError(f"catalog not written: cannot read this EPUB ({error})", path=epub) from None

    unique = opf.get("unique-identifier")
    identifier = next((node.text or "" for node in opf.iter(f"{{{_DC_EPUB}}}identifier")
                       if node.get("id") == unique), "")
    modified = next((node.text or "" for node in opf.iter(f"{{{_OPF}}}meta")
                     if node.get("property") == "dcterms:modified"), "1970-01-01T00:00:00Z")
    links = tuple((output.format, _href(Path(os.path.relpath(output.path, folder)).as_posix()),
                   output.size) for output in editions)
    title, language, date, description, publisher, rights = (
        next(iter(_texts(opf, name)), "")
        for name in ("title", "language", "date", "description", "publisher", "rights"))
    return Entry(epub.stem, identifier.strip(), title or epub.stem, language or "und",
                 modified.strip(), _texts(opf, "creator"), date or None, description,
                 _texts(opf, "subject"), publisher, rights, links, cover,
                 cover_item.get("media-type", "image/jpeg") if cover_item is not None else "")


def write_catalog(editions: Sequence[Sequence[Output]], folder: Path, title: str) -> tuple[Path, ...]:
    """Write the library page, the OPDS feed and the covers of the publications whose editions
    are *editions* into *folder*."""
    from .output import write_all_atomic

    refuse_clashes(folder, [output.path for outputs in editions for output in outputs])
    entries = sorted((read_entry(outputs, folder) for outputs in editions),
                     key=lambda e: (e.updated, e.date or "", e.title), reverse=True)
    files: dict[str, bytes] = {}
    for entry in entries:
        if entry.cover:
            files[entry.cover_name] = entry.cover
            files[entry.thumbnail_name] = thumbnail(entry.cover)
    files[FEED_NAME] = opds_feed(entries, title)
    files[INDEX_NAME] = library_page(entries, title)
    (folder / COVERS).mkdir(parents=True, exist_ok=True)
    write_all_atomic([(folder / name, data) for name, data in files.items()])
    return folder / INDEX_NAME, folder / FEED_NAME


def refuse_clashes(folder: Path, editions: Sequence[Path]) -> None:
    """Refuse a catalog that would replace an edition, or write through a link or over a file."""
    for path in editions:
        if path.name in (INDEX_NAME, FEED_NAME):
            raise UsageProblem(f"an edition is named {path.name}, as the catalog's page is: rename "
                               "its article or build without --catalog", path=path)
    covers = folder / COVERS
    if covers.is_symlink() or (covers.exists() and not covers.is_dir()):
        raise UsageProblem("the catalog's covers folder is a link or a file; remove it",
                           path=covers)


def check_title(title: str) -> str:
    """*title* if it can be a catalog's title: some text, all of it characters XML allows."""
    if not title.strip() or any((ord(c) < 32 and c not in "\t\n\r") or c in "\ufffe\uffff"
                                for c in title):
        raise UsageProblem(f"--catalog-title {title!r} must be text without control characters")
    return title.strip()


def thumbnail(cover: bytes) -> bytes:
    """A small JPEG of *cover*, the same bytes for the same cover."""
    from PIL import Image

    with Image.open(io.BytesIO(cover)) as image:
        image.load()
        picture = image.convert("RGBA")
    flat = Image.new("RGB", picture.size, "white")
    flat.paste(picture, mask=picture.getchannel("A"))
    flat.thumbnail(THUMBNAIL, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=82, optimize=True)
    return out.getvalue()


def opds_feed(entries: Sequence[Entry], title: str) -> bytes:
    """An OPDS 1.2 acquisition feed (Atom) of *entries*."""
    feed = etree.Element(f"{{{_ATOM}}}feed", nsmap={None: _ATOM, "dc": _DC})  # type: ignore[dict-item]

    def add(parent: etree._Element, name: str, text: str | None = None,
            **attributes: str) -> etree._Element:
        namespace, _, local = name.rpartition(":")
        node = etree.SubElement(parent, f"{{{_DC if namespace == 'dc' else _ATOM}}}{local}",
                                {key.rstrip("_"): value for key, value in attributes.items()})
        node.text = text
        return node

    every = " ".join(sorted(entry.atom_id for entry in entries))
    add(feed, "id", f"urn:uuid:{uuid.uuid5(IDENTIFIER_NAMESPACE, every)}")
    add(feed, "title", title)
    add(feed, "updated", max((entry.updated for entry in entries), default="1970-01-01T00:00:00Z"))
    if any(not entry.authors for entry in entries):  # Atom: the feed's author stands in
        add(add(feed, "author"), "name", title)
    for rel in ("self", "start"):
        add(feed, "link", rel=rel, href=FEED_NAME, type=FEED_TYPE)
    add(feed, "link", rel="alternate", href=INDEX_NAME, type="text/html")
    for entry in entries:
        item = add(feed, "entry")
        add(item, "title", entry.title)
        add(item, "id", entry.atom_id)
        add(item, "updated", entry.updated)
        for author in entry.authors:
            add(add(item, "author"), "name", author)
        optional = [("dc:identifier", entry.identifier if entry.atom_id != entry.identifier else ""),
                    ("dc:language", entry.language), ("dc:issued", entry.date),
                    ("dc:publisher", entry.publisher), ("rights", entry.rights)]
        for name, value in optional:
            if value:
                add(item, name, value)
        for subject in entry.subjects:
            add(item, "category", term=subject, label=subject)
        if entry.description:
            add(item, "summary", entry.description, type="text")
        if entry.cover:
            add(item, "link", rel=_IMAGE, href=_href(entry.cover_name), type=entry.cover_type)
            add(item, "link", rel=f"{_IMAGE}/thumbnail", href=_href(entry.thumbnail_name),
                type="image/jpeg")
        for fmt, link, size in entry.editions:
            rel = "alternate" if fmt == "html" else _ACQUISITION
            add(item, "link", rel=rel, href=link, type=MEDIA_TYPES[fmt], length=str(size))
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def library_page(entries: Sequence[Entry], title: str) -> bytes:
    """One self-contained page listing *entries*, with links to every edition."""
    items = []
    for number, entry in enumerate(entries, start=1):
        heading = f"entry-{number}"
        cover = (f'<img src="{_href(entry.thumbnail_name)}" alt="Cover of {escape(entry.title)}"'
                 ' width="120" height="180">' if entry.cover else "")
        byline = (f'<p class="by">{escape(", ".join(entry.authors))}</p>' if entry.authors else "")
        when = ""
        if entry.date:
            shown = PublicationDate(entry.date, entry.date).display(entry.language)
            when = f'<p class="when"><time datetime="{escape(entry.date)}">{escape(shown)}</time></p>'
        summary = f'<p class="summary">{escape(entry.description)}</p>' if entry.description else ""
        if entry.subjects:
            summary += f'<p class="subjects">{" · ".join(map(escape, entry.subjects))}</p>'
        links = "".join(
            f'<li><a href="{link}" type="{MEDIA_TYPES[fmt]}">{fmt.upper()}<span class="hidden"> '
            f'of {escape(entry.title)}</span> <span class="size">({human_size(size)})</span></a></li>'
            for fmt, link, size in entry.editions)
        items.append(
            f'<li><article lang="{escape(entry.language)}" aria-labelledby="{heading}">{cover}'
            f'<div><h2 id="{heading}">{escape(entry.title)}</h2>{byline}{when}{summary}'
            f'<ul class="get" lang="en" aria-label="Editions">{links}</ul></div></article></li>')
    count = f"{len(entries)} publication{'' if len(entries) == 1 else 's'}"
    body = "\n".join(items)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{escape(title)}</title>
<link rel="alternate" type="{FEED_TYPE}" href="{FEED_NAME}" title="OPDS catalog">
<style>{read_bundled("catalog.css").text}</style>
</head>
<body>
<header><h1>{escape(title)}</h1>
<p>{count}. Reading apps can browse the <a href="{FEED_NAME}">OPDS catalog</a>.</p></header>
<main>
<ul class="shelf">
{body}
</ul>
</main>
</body>
</html>
""".encode()


def human_size(size: int) -> str:
    """A file size as readers say it: ``812 kB``, ``1.4 MB`` (decimal units)."""
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} bytes"


def _texts(opf: etree._Element, name: str) -> tuple[str, ...]:
    """The texts of the package's ``dc:NAME`` elements, in order."""
    return tuple(text for node in opf.iter(f"{{{_DC_EPUB}}}{name}")
                 if (text := (node.text or "").strip()))


def _href(name: str) -> str:
    return quote(name, safe="/")

