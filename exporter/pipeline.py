"""The pipeline: read the source, build the document and book, render every edition in memory
(so a failure leaves no partial output), then write them.  :func:`build` is the public API."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .book import Book, collect_book, single_book
from .errors import Diagnostic, ExporterError, MetadataError, ResourceError, SourceError, StrictError, reason
from .options import Options
from .output import write_all_atomic
from .session import Session
from .source import read_bytes, read_source

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from .archive import BookBinding


@dataclass(frozen=True)
class Output:
    """One written file."""

    format: str
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class BuildResult:
    """What one build wrote, and what it warned about."""

    source: Path
    outputs: tuple[Output, ...]
    warnings: tuple[Diagnostic, ...] = ()
    #: The EPUB's ``dc:identifier`` and the date the editions claim (also a bag's).
    identifier: str = ""
    date: dt.date | None = None
    #: The sources (one, or a book's articles) and images the editions were made from.
    sources: tuple[Path, ...] = ()
    #: True when nothing had changed and the previous outputs were kept.
    reused: bool = False
    inputs: tuple[Path, ...] = ()
    #: How the sources were bound into a book, for a book.
    binding: BookBinding | None = None


@dataclass(frozen=True)
class Failure:
    """A source that could not be built, in a batch that went on without it."""

    source: Path
    error: ExporterError


def build(source: Path | str, output_dir: Path | str = "dist", formats: Iterable[str] | None = None,
          options: Options | None = None, data: bytes | None = None, session: Session | None = None,
          **changes: Any) -> BuildResult:
    """Build one article's editions into *output_dir* (*changes* are :class:`Options` fields; *data*
    the article's bytes, from a pipe); pass one *session* to many builds to share fonts and covers."""
    options = _options(options, formats, changes)
    session = session or Session()
    path, folder = Path(source), Path(output_dir)
    raw = read_bytes(path, options) if data is None else data
    if not options.reuse or data is not None:  # (a piped article has no folder for its images)
        return _render_and_write(_single_book(path, raw, options), options, folder, path, session)
    from . import cache

    key = cache.build_key(session.keep("tool", "fingerprint", cache.tool_fingerprint), path.name, raw,
                          options)
    record = cache.lookup(folder, path.stem, key, path.parent)
    if record is not None:
        with contextlib.suppress(ValueError, KeyError, TypeError):  # a damaged record: a miss
            return _reused(record, path, folder, options)
    book = _single_book(path, raw, options)
    result = _render_and_write(book, options, folder, path, session)
    # Warnings about the source itself are kept without its path, which may be absolute.
    warnings = [{**dataclasses.asdict(w), "path": None if w.path == str(path) else w.path}
                for w in result.warnings]
    try:
        cache.store(folder, book.stem, key, cache.input_hashes(path.parent, book.articles[0].inputs),
                    [{"format": o.format, "name": o.path.name, "size": o.size, "sha256": o.sha256}
                     for o in result.outputs],
                    {"identifier": result.identifier, "warnings": warnings,
                     "images": [image.relative_to(path.parent).as_posix() for image in result.inputs],
                     "date": result.date.isoformat() if result.date else None})
    except ExporterError as error:
        note = Diagnostic("CACHE-NOT-WRITTEN", f"build record not kept ({error}); the next build "
                          "will build again", str(path), severity="note")
        return dataclasses.replace(result, warnings=(*result.warnings, note))
    return result


def _single_book(path: Path, raw: bytes, options: Options) -> Book:
    """The book of the one article whose bytes are *raw*, read under the name *path*."""
    from .document import build_document

    return single_book(build_document(read_source(path, options, data=raw), options))


def _reused(record: dict[str, Any], path: Path, folder: Path, options: Options) -> BuildResult:
    """The result of an earlier build whose inputs are unchanged."""
    warnings = tuple(Diagnostic(**{**warning, "path": warning["path"] or str(path)})
                     for warning in record["warnings"])
    outputs = tuple(Output(str(o["format"]), folder / str(o["name"]), int(o["size"]),
                           str(o["sha256"])) for o in record["outputs"])
    if not isinstance(record["identifier"], str):
        raise TypeError("identifier")
    _check_strict(warnings, options, path)
    return BuildResult(path, outputs, warnings, record["identifier"],
                       dt.date.fromisoformat(record["date"]) if record["date"] else None, (path,),
                       reused=True, inputs=tuple(path.parent / str(name) for name in record["images"]))


def render_source(source: Path | str, options: Options, data: bytes | None = None,
                  session: Session | None = None) -> tuple[dict[str, bytes], tuple[Diagnostic, ...]]:
    """Render one article's editions in memory and write nothing (for ``-o -``)."""
    path = Path(source)
    book = _single_book(path, read_bytes(path, options) if data is None else data, options)
    editions, warnings = render_editions(book, options, session or Session())
    _check_strict(warnings, options, path)
    return editions, warnings


def build_book(sources: Iterable[Path | str], output_dir: Path | str = "dist", *, title: str | None = None,
               book_file: Path | str | None = None, formats: Iterable[str] | None = None,
               options: Options | None = None, session: Session | None = None,
               **changes: Any) -> BuildResult:
    """Bind several articles into one book, ``output_dir/<slug of title>.<format>``, its metadata
    and order from *book_file* (YAML, articles relative to it) or its title from *title*."""
    from .document import build_document
    from .resources import is_inside
    from .source import decode_text, load_yaml_mapping

    options = _options(options, formats, changes)
    given = tuple(Path(source) for source in sources)
    paths, settings = list(given), dict[str, Any]()
    anchor = Path(book_file) if book_file else (paths[0] if paths else Path("book"))
    if book_file is not None:
        try:
            text = decode_text(anchor.read_bytes(), anchor)
        except FileNotFoundError:
            raise SourceError("no such book file", path=anchor) from None
        except OSError as error:
            raise SourceError(f"cannot read: {reason(error)}", path=anchor) from None
        settings = load_yaml_mapping(text, anchor)[0]
        listed = settings.get("articles") or []
        if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
            raise MetadataError("'articles' must be a list of file names", path=book_file)
        for name in listed:  # a book holds only the articles of its book file's folder
            if Path(name).is_absolute() or not is_inside(anchor.parent / name, [anchor.parent]):
                raise ResourceError(f"article {name!r} lies outside the book's folder; a book holds "
                                    "only articles beside its book file", path=book_file)
        paths = [anchor.parent / name for name in listed] + paths
    if title:
        settings["title"] = title
    documents = [build_document(read_source(path, options), options) for path in paths]
    book = collect_book(documents, settings, anchor, options.source_date_epoch,
                        anchor if book_file else None, given)
    return _render_and_write(book, options, Path(output_dir), anchor, session or Session())


def build_many(sources: Iterable[Path | str], output_dir: Path | str = "dist",
               formats: Iterable[str] | None = None, options: Options | None = None, *,
               executor: Executor | None = None, timeout: float | None = None,
               on_done: Callable[[BuildResult | Failure], None] | None = None,
               alive: Callable[[], bool] | None = None, **changes: Any) -> list[BuildResult | Failure]:
    """Build each source, a failure as a :class:`Failure`, in order: in this process, or one task per
    source on *executor* (a process pool, Dask's) stopped after *timeout*; *on_done* sees each
    outcome as it comes, *alive* says whether the executor still serves."""
    options = _options(options, formats, changes)
    paths = [Path(source) for source in sources]
    if executor is not None:
        from .batch import build_on

        return build_on(executor, paths, Path(output_dir), options, timeout, on_done, alive)
    session = Session()
    results: list[BuildResult | Failure] = []
    for path in paths:
        try:
            results.append(build(path, output_dir, options=options, session=session))
        except ExporterError as error:
            results.append(Failure(path, error))
        if on_done:
            on_done(results[-1])
    return results


def _render_and_write(book: Book, options: Options, output_dir: Path, path: Path,
                      session: Session) -> BuildResult:
    """Render the editions of *book*, then write them all (or none) as ``output_dir/stem.format``."""
    editions, warnings = render_editions(book, options, session)
    _check_strict(warnings, options, path)
    paths = {name: output_dir / f"{book.stem}.{name}" for name in editions}
    write_all_atomic([(paths[name], data) for name, data in editions.items()])
    outputs = tuple(Output(name, paths[name], len(data), hashlib.sha256(data).hexdigest())
                    for name, data in editions.items())
    binding = None
    if book.collection:
        from .archive import BookBinding

        binding = BookBinding(book.metadata.title, book.book_file, book.given)
    return BuildResult(path, outputs, warnings, book.identifier, book.modified.date(),
                       tuple(article.source.path for article in book.articles),
                       inputs=book.images, binding=binding)


def render_editions(book: Book, options: Options,
                    session: Session) -> tuple[dict[str, bytes], tuple[Diagnostic, ...]]:
    """Render every asked-for edition in memory; return them by format, with all warnings."""
    editions: dict[str, bytes] = {}
    warnings = list(book.warnings)
    pages = None
    # The PDF comes first: its page breaks become the EPUB's page list.
    if "pdf" in options.formats:
        from .editions.pdf import render_pdf

        editions["pdf"], pages, pdf_warnings = render_pdf(book, options, session)
        warnings.extend(pdf_warnings)
    if "epub" in options.formats:
        from .editions.epub import render_epub

        if options.page_list and pages is None:  # laid out alone: the same EPUB as beside the PDF
            from .editions.pdf import page_map

            pages = page_map(book, options, session)
        editions["epub"] = render_epub(book, options, session,
                                       pages=pages if options.page_list else None)
    if "html" in options.formats:
        from .editions.html import render_html

        editions["html"] = render_html(book, options)
    return {name: editions[name] for name in options.formats}, tuple(warnings)


def _check_strict(warnings: Iterable[Diagnostic], options: Options, path: Path) -> None:
    """Under ``--strict``, fail on the first warning (notes do not count)."""
    serious = [warning for warning in warnings if warning.severity == "warning"]
    if options.strict and serious:
        raise StrictError(f"{len(serious)} warning(s) with --strict: {serious[0]}", path=path)


def _options(options: Options | None, formats: Iterable[str] | None, changes: dict[str, Any]) -> Options:
    """*options* (or the defaults) with *formats* and the other *changes* applied."""
    options = options or Options()
    if formats is not None:
        changes = {**changes, "formats": (formats,) if isinstance(formats, str) else tuple(formats)}
    return options.with_changes(**changes) if changes else options
