"""Stage 2: turn a :class:`~exporter.source.Source` into one immutable :class:`Document`.

Markdown becomes HTML through Python-Markdown and the project's extensions,
then passes the ``nh3`` allow-list, then the offline resource policy
(:mod:`exporter.assets`), and is kept as a well-formed XHTML fragment that
every edition wraps without changing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from . import assets
from .assets import Asset
from .errors import Diagnostic, SourceError
from .links import mend_links
from .metadata import Metadata, read_metadata
from .options import Options
from .sanitize import sanitize_html
from .source import STDIN, Source
from .xhtml import parse_fragment, repair_content_model, serialize_fragment, unwrap

_INDENT = re.compile(r"^((?:[ \t]*>)*)([ \t]*)")
# Raw HTML tags, for a cheap bound on nesting before the sanitiser (whose time grows with it).
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*?(/?)>")
# Elements never nested (void) or closed implicitly, which the bound leaves out.
_NOT_NESTING = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option",
    "optgroup", "rb", "rt", "rtc", "rp", "colgroup", "caption", "html", "head", "body",
})  # fmt: skip
_MAX_RAW_DEPTH = 2000
# A table's delimiter row (| --- | :-: |), its columns' dashes, footnote definitions, tags.
_DELIMITER_ROW = re.compile(r"[ \t|:-]*")
_DASHES = re.compile(r"-+")
_FOOTNOTE = re.compile(r"^ {0,3}\[\^[^\]\n]+\]:", re.MULTILINE)
_RAW_TAG = re.compile(r"</?[A-Za-z]")
# libxml2 refuses XML deeper than 256 elements; the editions wrap the body in a dozen more.
_MAX_DEPTH = 200
# Ids the editions give their own elements in the page that holds the body.
_RESERVED_ID = re.compile(r"title|article|toc|toc-title|landmarks(-title)?|page-list(-title)?|page-\d+")


@dataclass(frozen=True)
class Heading:
    """A section heading of the body: its level (2-6), id, plain text and outline depth.

    *depth* counts the earlier headings of lower level it sits under (0 at the top), so
    headings out of order (``###`` before ``##``) still nest one step at a time.
    """

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
    #: Every local file the editions read or looked for (images, cover), relative to the
    #: source's folder: what a cached build must find unchanged.
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
    from .markdown_ext import TooComplex, make_markdown

    markdown_text = source.body
    if source.kind == "text":
        from .plaintext import text_to_markdown

        markdown_text = text_to_markdown(markdown_text)
    _check_nesting(markdown_text, source, options)
    _check_raw_html_depth(markdown_text, source)
    _check_bounds(markdown_text, source, options)
    converter = make_markdown()
    try:
        html = converter.convert(markdown_text)
    except RecursionError:
        raise SourceError("the text is nested too deeply to convert", path=source.path) from None
    except TooComplex as error:
        line = _line_of(error.excerpt, markdown_text, source)
        raise SourceError(error.message, path=source.path, line=line) from None
    title_from_body: str | None = getattr(converter, "exporter_title", None)

    try:
        root = parse_fragment(sanitize_html(html))
    except ValueError as limit:
        raise SourceError(f"the text cannot be read whole ({limit}); nothing was built",
                          path=source.path) from None
    fallback = title_from_body or _title_from_name(source.path)
    if title_from_body is None and source.path.name == STDIN:  # no file name to fall back on
        heading = next(root.iter("h1", "h2", "h3", "h4", "h5", "h6"), None)
        text = " ".join(str(heading.xpath("string()")).split()) if heading is not None else ""
        fallback = text or fallback
    metadata, meta_warnings = read_metadata(source.front_matter, source.path, fallback,
                                             source.front_matter_lines)
    repair_content_model(root)
    _check_depth(root, source)
    _unique_ids(root)
    inputs = assets.local_names(root, metadata.cover)
    found, asset_warnings = assets.resolve_images(root, source, options)
    _drop_empty_headings(root)
    headings = _collect_headings(root)
    link_warnings = tuple(Diagnostic("LINK-DROPPED", message, str(source.path))
                          for message in mend_links(root))
    body = serialize_fragment(root)
    return Document(
        source=source,
        metadata=metadata,
        body=body,
        headings=headings,
        identifier=metadata.derived_identifier(),
        modified=metadata.modified_at(options.source_date_epoch),
        assets=found,
        cover=assets.load_cover(metadata.cover, source, options) if metadata.cover else None,
        warnings=meta_warnings + asset_warnings + link_warnings,
        inputs=inputs,
    )


def _title_from_name(path: Path) -> str:
    if path.name == STDIN:
        return "Untitled"
    words = re.sub(r"[_\-]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else "Untitled"


def _check_nesting(text: str, source: Source, options: Options) -> None:
    """Refuse lists and quotes nested deeper than the limit, naming the line."""
    for number, line in enumerate(text.split("\n"), start=source.body_line_offset + 1):
        match = _INDENT.match(line)
        if match is None:
            continue
        quotes = match.group(1).count(">")
        indent = len(match.group(2).expandtabs(4))
        if quotes > options.max_nesting or indent // 2 > options.max_nesting:
            raise SourceError(
                f"nested more than {options.max_nesting} levels deep", path=source.path, line=number
            )


def _check_bounds(text: str, source: Source, options: Options) -> None:
    """Refuse at once what would take minutes or gigabytes, naming the bound (and the line)."""
    for number, line in enumerate(text.split("\n"), start=source.body_line_offset + 1):
        if len(line) > options.max_line_chars:
            raise SourceError(f"line longer than the limit of {options.max_line_chars} characters",
                              path=source.path, line=number)
        if "-" in line and "|" in line and _DELIMITER_ROW.fullmatch(line):
            columns = len(_DASHES.findall(line))
            if columns > options.max_table_columns:
                raise SourceError(f"table of {columns} columns, past the limit of "
                                  f"{options.max_table_columns}", path=source.path, line=number)
    bounds = [(_FOOTNOTE.findall(text), options.max_footnotes, "footnotes"),
              (_RAW_TAG.findall(text), options.max_raw_html_tags, "raw HTML tags")]
    for found, limit, what in bounds:
        if len(found) > limit:
            raise SourceError(f"{len(found)} {what}, past the limit of {limit}", path=source.path)


def _check_raw_html_depth(text: str, source: Source) -> None:
    """Refuse raw HTML nested thousands deep before the sanitiser spends minutes on it."""
    if "<" not in text:
        return
    stack: list[str] = []
    open_count: dict[str, int] = {}
    for match in _TAG.finditer(text):
        closing, name, empty = match.group(1), match.group(2).lower(), match.group(3)
        if name in _NOT_NESTING or empty:
            continue
        if not closing:
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            if len(stack) > _MAX_RAW_DEPTH:
                line = source.body_line_offset + text.count("\n", 0, match.start()) + 1
                raise SourceError(f"raw HTML is nested more than {_MAX_RAW_DEPTH} elements deep",
                                  path=source.path, line=line)
        elif open_count.get(name):
            # An end tag closes every element opened inside its own, as HTML parsers do.
            while (top := stack.pop()) != name:
                open_count[top] -= 1
            open_count[name] -= 1


def _check_depth(root: etree._Element, source: Source) -> None:
    """Refuse a body nested deeper than an EPUB's XML may be."""
    depth = 0
    for event, _element in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > _MAX_DEPTH:
            raise SourceError(f"the text is nested more than {_MAX_DEPTH} elements deep",
                              path=source.path)


def _unique_ids(root: etree._Element) -> None:
    """Drop ids that repeat an earlier one or one the editions use, keeping the element."""
    seen: set[str] = set()
    for element in root.iter():
        value = element.get("id")
        if value is None:
            continue
        if value in seen or _RESERVED_ID.fullmatch(value):
            del element.attrib["id"]
        else:
            seen.add(value)


def _line_of(excerpt: str, text: str, source: Source) -> int | None:
    """The source line where *excerpt* (the start of a paragraph) begins, if it can be found."""
    first = excerpt.split("\n", 1)[0].strip()[:40]
    position = text.find(first) if first else -1
    if position < 0:
        return None
    return source.body_line_offset + text.count("\n", 0, position) + 1


def _drop_empty_headings(root: etree._Element) -> None:
    """Remove headings with nothing to read (``#`` alone): a contents entry needs words."""
    for heading in list(root.iter("h1", "h2", "h3", "h4", "h5", "h6")):
        if not str(heading.xpath("string()")).strip() and not len(heading):
            unwrap(heading)  # (the text after it stays)


def _collect_headings(root: etree._Element) -> tuple[Heading, ...]:
    """List h2-h6 with their ids, giving an id to any heading that lacks one."""
    headings: list[Heading] = []
    open_levels: list[int] = []
    used = {element.get("id") for element in root.iter() if element.get("id")}
    for element in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        text = " ".join(str(element.xpath("string()")).split())
        if not text:
            continue  # (a heading of images alone: nothing to list)
        if not element.get("id"):
            candidate, number = "section", 1
            while f"{candidate}-{number}" in used:
                number += 1
            element.set("id", f"{candidate}-{number}")
            used.add(element.get("id"))
        level = int(element.tag[1])
        while open_levels and open_levels[-1] >= level:
            open_levels.pop()
        headings.append(Heading(level, element.get("id", ""), text, len(open_levels)))
        open_levels.append(level)
    return tuple(headings)
