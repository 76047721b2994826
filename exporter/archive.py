"""Archives that prove themselves: what a build keeps of its inputs, and how to check it.

A build's *kept inputs* are every file it read, under archive names: ``sources/`` for
the articles, their images and a book file (relative to the articles' folder), and
``styles/N/`` for the N-th user stylesheet and the files it reads.  Its *record*
(JSON) names them with their SHA-256, with the options and tool versions that made
the editions.  The archive PDF attaches both; a bag holds both beside its editions.
:func:`rebuild` makes the editions again from kept inputs alone, in a folder of its own.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .errors import VerifyError
from .options import Options

if TYPE_CHECKING:
    from .book import Book

#: The record's name, as a PDF attachment and as a bag's tag file.
RECORD_NAME = "exporter-build.json"
RECORD_FORMAT = "exporter-build/1"
#: Options a record keeps: those that shape an edition's bytes.
KEPT_OPTIONS = ("formats", "style", "page_size", "margins", "edition", "source_date_epoch", "toc")


@dataclass(frozen=True)
class BookBinding:
    """How articles were bound into a book: its title, its book file, the articles given besides."""

    title: str
    file: Path | None = None
    given: tuple[Path, ...] = ()


def kept_inputs(articles: Sequence[Path], read: Sequence[Path], book_file: Path | None,
                options: Options) -> tuple[tuple[str, Path], ...]:
    """Every file a build read, as (archive name, path), in name order.

    *articles* are its sources, *read* the other files they used (images), *book_file*
    the ``book.yaml`` that bound them, if any; the user stylesheets come from *options*.
    """
    from .userstyle import stylesheet_files

    files = [*articles, *read, *([book_file] if book_file else [])]
    root = Path(os.path.commonpath([path.resolve().parent for path in files]))
    kept = {"sources/" + path.resolve().relative_to(root).as_posix(): path for path in files}
    for number, sheet in enumerate(options.user_stylesheets):
        for path in stylesheet_files(sheet):
            kept[f"styles/{number}/{path.relative_to(sheet.resolve().parent).as_posix()}"] = path
    return tuple(sorted(kept.items()))


def book_inputs(book: Book, options: Options) -> tuple[tuple[str, Path], ...]:
    """:func:`kept_inputs` of a book being built."""
    return kept_inputs([a.source.path for a in book.articles], book.images, book.book_file,
                       options)


def build_record(articles: Sequence[Path], book: BookBinding | None, options: Options,
                 kept: tuple[tuple[str, Path], ...]) -> dict[str, Any]:
    """What made a build's editions: inputs by SHA-256, options and tool versions (JSON-ready)."""
    from .cache import tool_versions

    names = {path.resolve(): name for name, path in kept}
    sheets = {sheet.resolve() for sheet in options.user_stylesheets}
    return {
        "format": RECORD_FORMAT,
        "tool": tool_versions(),
        "options": {key: getattr(options, key) for key in KEPT_OPTIONS},
        "articles": [names[path.resolve()] for path in articles],
        "book": None if book is None else {
            "title": book.title, "file": names[book.file.resolve()] if book.file else None,
            "given": [names[path.resolve()] for path in book.given]},
        "stylesheets": [name for name, path in kept if path.resolve() in sheets],
        "inputs": {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in kept},
    }


def book_record(book: Book, options: Options, kept: tuple[tuple[str, Path], ...]) -> dict[str, Any]:
    """:func:`build_record` of a book being built."""
    binding = BookBinding(book.metadata.title, book.book_file, book.given) if book.collection \
        else None
    return build_record([a.source.path for a in book.articles], binding, options, kept)


def safe_name(name: str) -> PurePosixPath:
    """*name* from an archive as a relative path that stays in its folder; else refused."""
    path = PurePosixPath(name)
    if (not name or "\\" in name or "\0" in name or path.is_absolute()
            or any(part in ("", ".", "..") or part.startswith(".") for part in path.parts)
            or path.parts[0] not in ("sources", "styles")):
        raise VerifyError(f"the archive names a file {name!r} outside its sources and styles")
    return path


def tool_differences(record: dict[str, Any]) -> list[str]:
    """The tools whose versions differ from the record's, as ``name recorded → now``."""
    from .cache import tool_versions

    tool = record.get("tool")
    recorded: dict[str, Any] = tool if isinstance(tool, dict) else {}
    now = tool_versions()
    return [f"{name} {recorded.get(name)} → {now.get(name)}"
            for name in sorted(set(recorded) | set(now)) if recorded.get(name) != now.get(name)]
