"""Stage 2: a :class:`~exporter.source.Source` made one immutable :class:`Document`: its Markdown
converted, sanitised, its images read under the offline policy, kept as a well-formed XHTML fragment."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import NoReturn

from lxml import etree

from . import assets
from .assets import Asset
from .errors import Diagnostic, SourceError
from .links import mend_links
from .metadata import Metadata, labels, read_metadata, stated_title
from .options import Options
from .sanitize import sanitize_html
from .source import STDIN, Source
from .xhtml import (
    VOID,
    drop_keeping_tail,
    parse_fragment,
    repair_content_model,
    serialize_fragment,
    unwrap,
    words_without_calls,
)

# The quote markers and indentation that start each line.
_INDENT = re.compile(r"^((?:[ \t]*>)*)([ \t]*)", re.MULTILINE)
# Raw HTML tags, for a cheap bound on nesting before the sanitiser (whose time grows with it),
# and the elements never nested (void) or closed implicitly, which the bound leaves out.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*?(/?)>")
_NOT_NESTING = VOID | {"p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option",
                      "optgroup", "rb", "rt", "rtc", "rp", "colgroup", "caption", "html", "head", "body"}
_MAX_RAW_DEPTH = 2000
# A table's delimiter row (| --- | :-: |), its columns' dashes, footnote definitions, raw tags.
_DELIMITER_ROW = re.compile(r"[ \t|:-]*")
_DASHES = re.compile(r"-+")
_FOOTNOTE = re.compile(r"^ {0,3}\[\^[^\]\n]+\]:", re.MULTILINE)
_RAW_TAG = re.compile(r"</?[A-Za-z]")
# libxml2 refuses XML deeper than 256 elements; the editions wrap the body in a dozen more.
_MAX_DEPTH = 200
# Ids the editions give their own elements in the page that holds the body.
_RESERVED_ID = re.compile(r"title|article|toc|toc-title|landmarks(-title)?|page-list(-title)?|page-\d+")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


@dataclass(frozen=True)
class Heading:
    """A section heading: level (2-6), id, plain text, and *depth*, the earlier headings of lower
    level it sits under, so headings out of order still nest one step at a time."""

    level: int
    id: str
    text: str
    depth: int = 0


@dataclass(frozen=True)
class Document:
    """Everything an edition needs, computed once; writers only read it."""

    source: Source
    metadata: Metadata
    #: The article body as a well-formed XHTML fragment (no title heading).
    body: str
    headings: tuple[Heading, ...]
    identifier: str
    modified: dt.datetime
    assets: tuple[Asset, ...] = ()
    #: The cover image the front matter names (else the EPUB draws one).
    cover: Asset | None = None
    warnings: tuple[Diagnostic, ...] = field(default=(), compare=False)
    #: Every local file the editions read or looked for, relative to the source's folder.
    inputs: tuple[str, ...] = ()

    @property
    def stem(self) -> str:
        """The output file name without suffix."""
        return self.source.stem

    @property
    def digest(self) -> str:
        """SHA-256 of the source bytes, naming this exact input."""
        return hashlib.sha256(self.source.raw).hexdigest()


def build_document(source: Source, options: Options) -> Document:
    """Convert *source* into a :class:`Document` under *options*."""
    from .markdown_ext import TooComplex, make_markdown, may_hold_code

    text = source.body
    if source.path.suffix.lower() == ".txt":
        from .plaintext import text_to_markdown

        text = text_to_markdown(text)
    _check_bounds(text, source, options)
    stated = stated_title(source.front_matter, source.path, source.front_matter_lines.get("title"))[0]
    converter = make_markdown(may_hold_code(text), stated, "~~" in text)
    try:
        html = converter.convert(text)
    except RecursionError:
        raise SourceError("the text is nested too deeply to convert", path=source.path) from None
    except TooComplex as error:
        first = error.excerpt.split("\n", 1)[0].strip()[:40]
        position = text.find(first) if first else -1
        line = source.body_line_offset + text.count("\n", 0, position) + 1 if position >= 0 else None
        raise SourceError(error.message, path=source.path, line=line) from None
    title: str | None = getattr(converter, "exporter_title", None)
    try:
        root = parse_fragment(sanitize_html(html, elsewhere := list[str]()))
    except ValueError as limit:
        raise SourceError(f"the text cannot be read whole ({limit}); nothing was built",
                          path=source.path) from None
    metadata, meta_warnings = read_metadata(source.front_matter, source.path,
                                             title or _fallback_title(source, root),
                                             source.front_matter_lines)
    repair_content_model(root)
    note_warnings = _mark_notes(root, labels(metadata.language).back_to_note, text, source)
    if root.find("/".join(["*"] * _MAX_DEPTH)) is not None:  # (an element that deep)
        raise SourceError(f"the text is nested more than {_MAX_DEPTH} elements deep", path=source.path)
    seen: set[str] = set()
    for element in root.iter():  # ids repeating an earlier one or one the editions use go
        if (value := element.get("id")) is not None:
            if value in seen or _RESERVED_ID.fullmatch(value):
                del element.attrib["id"]
            seen.add(value)
    found, asset_warnings, inputs = assets.resolve_images(root, source, options, metadata.cover)
    for heading in list(root.iter(*_HEADINGS)):  # a contents entry needs words
        if not str(heading.xpath("string()")).strip() and not len(heading):
            unwrap(heading)
    headings = _collect_headings(root)
    link_warnings = tuple(Diagnostic("LINK-DROPPED", message, str(source.path)) for message in [
        *(f"link to {href!r} leads out of the web, mail and this article, which is all a book can "
          "open; its text is kept" for href in elsewhere), *mend_links(root)])
    return Document(
        source=source,
        metadata=metadata,
        body=serialize_fragment(root),
        headings=headings,
        identifier=metadata.derived_identifier(),
        modified=metadata.modified_at(options.source_date_epoch),
        assets=found,
        cover=assets.load_cover(metadata.cover, source, options) if metadata.cover else None,
        warnings=meta_warnings + asset_warnings + note_warnings + link_warnings,
        inputs=inputs,
    )


def _mark_notes(root: etree._Element, back: str, text: str, source: Source) -> tuple[Diagnostic, ...]:
    """Title each note's back links with *back*; a note no call cites loses them (there is nothing
    to go back to) and earns a warning, as the PDF prints it after the text, not on a page's foot."""
    from .markdown_ext import note_label

    cited = {link.get("href", "")[1:] for link in root.iter("a") if link.get("class") == "footnote-ref"}
    found = []
    for link in list(root.iter("a")):  # (titled with the note's number by the converter)
        if link.get("class") != "footnote-backref" or not (number := link.get("title", "")).isdigit():
            continue
        item = next(link.iterancestors("li"), None)
        if item is None:  # (raw HTML imitating a back link)
            continue
        note = item.get("id", "")
        if note in cited:
            link.set("title", back % int(number))
            continue
        drop_keeping_tail(link)
        label = note_label(note)
        position = text.find(f"[^{label}]:")
        found.append(Diagnostic("NOTE-UNCITED", f"note [^{label}] has no call in the text: the editions "
                                "list it after the text", str(source.path),
                                source.body_line_offset + text.count("\n", 0, position) + 1
                                if position >= 0 else None))
    return tuple(found)


def _fallback_title(source: Source, root: etree._Element) -> str:
    """The file's name in words; for standard input, the first heading's text."""
    if source.path.name == STDIN:
        heading = next(root.iter(*_HEADINGS), None)
        words = " ".join(str(heading.xpath("string()")).split()) if heading is not None else ""
    else:
        words = re.sub(r"[_\-]+", " ", source.path.stem).strip()
        words = words[:1].upper() + words[1:]
    return words or "Untitled"


def _check_bounds(text: str, source: Source, options: Options) -> None:
    """Refuse at once what would take minutes or gigabytes, naming the bound (and the line)."""
    def refuse(message: str, line: int | None = None) -> NoReturn:
        raise SourceError(message, path=source.path, line=line)

    for number, (quotes, indent) in enumerate(_INDENT.findall(text), start=source.body_line_offset + 1):
        if quotes.count(">") > options.max_nesting or len(indent.expandtabs(4)) // 2 > options.max_nesting:
            refuse(f"nested more than {options.max_nesting} levels deep", number)
    stack: list[str] = []
    open_count: dict[str, int] = {}
    for match in _TAG.finditer(text) if "<" in text else ():
        closing, name = match[1], match[2].lower()
        if name in _NOT_NESTING or match[3]:
            continue
        if not closing:
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            if len(stack) > _MAX_RAW_DEPTH:
                refuse(f"raw HTML is nested more than {_MAX_RAW_DEPTH} elements deep",
                       source.body_line_offset + text.count("\n", 0, match.start()) + 1)
        elif open_count.get(name):
            # An end tag closes every element opened inside its own, as HTML parsers do.
            while (top := stack.pop()) != name:
                open_count[top] -= 1
            open_count[name] -= 1
    for number, line in enumerate(text.split("\n"), start=source.body_line_offset + 1):
        if len(line) > options.max_line_chars:
            refuse(f"line longer than the limit of {options.max_line_chars} characters", number)
        columns = len(_DASHES.findall(line)) if "|" in line and _DELIMITER_ROW.fullmatch(line) else 0
        if columns > options.max_table_columns:
            refuse(f"table of {columns} columns, past the limit of {options.max_table_columns}", number)
    for found, limit, what in [(_FOOTNOTE.findall(text), options.max_footnotes, "footnotes"),
                               (_RAW_TAG.findall(text), options.max_raw_html_tags, "raw HTML tags")]:
        if len(found) > limit:
            refuse(f"{len(found)} {what}, past the limit of {limit}")


def _collect_headings(root: etree._Element) -> tuple[Heading, ...]:
    """List h2-h6 with their ids, giving an id to any heading that lacks one."""
    headings: list[Heading] = []
    open_levels: list[int] = []
    used = {element.get("id") for element in root.iter() if element.get("id")}
    for element in root.iter(*_HEADINGS):
        text = words_without_calls(element)
        if not text:
            continue  # (a heading of images alone: nothing to list)
        if not element.get("id"):
            number = next(n for n in range(1, len(used) + 2) if f"section-{n}" not in used)
            element.set("id", f"section-{number}")
            used.add(f"section-{number}")
        level = int(element.tag[1])
        while open_levels and open_levels[-1] >= level:
            open_levels.pop()
        headings.append(Heading(level, element.get("id", ""), text, len(open_levels)))
        open_levels.append(level)
    return tuple(headings)
