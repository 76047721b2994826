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
from .errors import Diagnostic, SourceError
from .metadata import Metadata, read_metadata
from .options import Options
from .sanitize import sanitize_html
from .source import Source
from .xhtml import parse_fragment, serialize_fragment

_INDENT = re.compile(r"^((?:[ \t]*>)*)([ \t]*)")


@dataclass(frozen=True)
class Heading:
    """A section heading of the body: its level (2-6), id and plain text."""

    level: int
    id: str
    text: str


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
    assets: tuple[assets.Asset, ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default=(), compare=False)

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
    from .markdown_ext import make_markdown

    markdown_text = source.body
    if source.kind == "text":
        from .plaintext import text_to_markdown

        markdown_text = text_to_markdown(markdown_text)
    _check_nesting(markdown_text, source, options)
    converter = make_markdown()
    try:
        html = converter.convert(markdown_text)
    except RecursionError:
        raise SourceError("the text is nested too deeply to convert", path=source.path) from None
    title_from_body: str | None = getattr(converter, "exporter_title", None)

    fallback = title_from_body or _title_from_name(source.path)
    metadata, meta_warnings = read_metadata(source.front_matter, source.path, fallback)

    root = parse_fragment(sanitize_html(html))
    found, asset_warnings = assets.resolve_images(root, source, options)
    headings = _collect_headings(root)
    body = serialize_fragment(root)
    return Document(
        source=source,
        metadata=metadata,
        body=body,
        headings=headings,
        identifier=metadata.derived_identifier(),
        modified=metadata.modified_at(options.source_date_epoch),
        assets=found,
        warnings=meta_warnings + asset_warnings,
    )


def _title_from_name(path: Path) -> str:
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


def _collect_headings(root: etree._Element) -> tuple[Heading, ...]:
    """List h2-h6 with their ids, giving an id to any heading that lacks one."""
    headings: list[Heading] = []
    used = {element.get("id") for element in root.iter() if element.get("id")}
    for element in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        text = " ".join(str(element.xpath("string()")).split())
        if not element.get("id"):
            candidate, number = "section", 1
            while f"{candidate}-{number}" in used:
                number += 1
            element.set("id", f"{candidate}-{number}")
            used.add(element.get("id"))
        headings.append(Heading(int(element.tag[1]), element.get("id", ""), text))
    return tuple(headings)
