"""Archives that prove themselves: a build's kept inputs and its record.

The *kept inputs* are every file a build read, under archive names (``sources/`` for the
articles, their images and book file; ``styles/N/`` for the N-th user stylesheet and what it
reads).  The *record* (JSON) names them with their SHA-256, the options and the tool versions;
:mod:`exporter.verify` builds the editions again from them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .options import Options

if TYPE_CHECKING:
    from .book import Book

#: The record's name, as a PDF attachment and as a bag's tag file.
RECORD_NAME = "exporter-build.json"
RECORD_FORMAT = "exporter-build/1"
#: Options a record keeps: those that shape an edition's bytes.
KEPT_OPTIONS = ("formats", "style", "page_size", "margins", "edition", "source_date_epoch", "toc",
                "page_list")


class BookBinding(NamedTuple):
    """How articles were bound into a book: its title, its book file, the articles given besides."""

    title: str
    file: Path | None = None
    given: tuple[Path, ...] = ()


def stylesheet_inputs(options: Options) -> dict[str, Path]:
    """The user stylesheets and every file they read, by archive name (``styles/N/``)."""
    from .userstyle import stylesheet_files

    kept = {}
    for number, sheet in enumerate(options.user_stylesheets):
        home = sheet.resolve().parent
        for path in stylesheet_files(sheet):
            name = sheet.name if path == sheet.resolve() else path.relative_to(home).as_posix()
            kept[f"styles/{number}/{name}"] = path
    return kept


def kept_inputs(articles: Sequence[Path], read: Sequence[Path], book_file: Path | None,
                styles: Mapping[str, Path], folder: str = "sources/") -> tuple[tuple[str, Path], ...]:
    """Every file a build read (sources, images, book file, *styles*) as (archive name, path),
    named relative to the folder holding them all (a link keeps its own name), under *folder*."""
    files = [_normal(path) for path in [*articles, *read, *([book_file] if book_file else [])]]
    root = Path(os.path.commonpath([path.parent for path in files]))
    kept = {folder + path.relative_to(root).as_posix(): path for path in files}
    return tuple(sorted({**kept, **styles}.items()))


def book_inputs(book: Book, options: Options) -> tuple[tuple[tuple[str, Path], ...], dict[Path, bytes]]:
    """The kept inputs of a book being built, and the bytes the build read of its sources and
    images by absolute path (a piped article has no file)."""
    read = {_normal(article.source.path): article.source.raw for article in book.articles}
    for article in book.articles:
        for asset in (*article.assets, article.cover):
            if asset and asset.origin:
                read[_normal(article.source.path.parent / asset.origin)] = asset.data
    kept = kept_inputs([a.source.path for a in book.articles], book.images, book.book_file,
                       stylesheet_inputs(options))
    return kept, read


def build_record(articles: Sequence[Path], book: BookBinding | None, options: Options,
                 kept: Sequence[tuple[str, Path]],
                 read: Mapping[Path, bytes] | None = None) -> dict[str, Any]:
    """What made a build's editions, JSON-ready; inputs not in *read* are read from disk."""
    from .cache import tool_versions

    names = {_normal(path): name for name, path in kept}
    return {
        "format": RECORD_FORMAT,
        "tool": tool_versions(),
        "options": {key: getattr(options, key) for key in KEPT_OPTIONS},
        "articles": [names[_normal(path)] for path in articles],
        "book": None if book is None else {
            "title": book.title, "file": names[_normal(book.file)] if book.file else None,
            "given": [names[_normal(path)] for path in book.given]},
        "stylesheets": [f"styles/{number}/{sheet.name}"
                        for number, sheet in enumerate(options.user_stylesheets)],
        "inputs": {name: hashlib.sha256(contents(path, read or {})).hexdigest()
                   for name, path in kept},
    }


def book_record(book: Book, options: Options, kept: Sequence[tuple[str, Path]],
                read: Mapping[Path, bytes]) -> dict[str, Any]:
    """:func:`build_record` of a book being built."""
    binding = BookBinding(book.metadata.title, book.book_file, book.given) if book.collection \
        else None
    return build_record([a.source.path for a in book.articles], binding, options, kept, read)


def _normal(path: Path) -> Path:
    """*path* made absolute, ``..`` folded by name (a link keeps its own name, unresolved)."""
    return Path(os.path.normpath(path.absolute()))


def contents(path: Path, read: Mapping[Path, bytes]) -> bytes:
    """The bytes of an input: as the build read them where known, else from the file."""
    return read[_normal(path)] if _normal(path) in read else path.read_bytes()
