"""The pipeline in one place: read, build the document, render and write each edition.

:func:`build` and :func:`build_many` are the public API; the CLI calls them.
Every edition is rendered in memory before any file is written, so a failure
leaves no partial output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .document import Document, build_document
from .errors import Diagnostic, ExporterError, StrictError
from .options import Options
from .output import write_atomic
from .source import read_source


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


@dataclass(frozen=True)
class Failure:
    """A source that could not be built, in a batch that went on without it."""

    source: Path
    error: ExporterError
    warnings: tuple[Diagnostic, ...] = field(default=())


def build(
    source: Path | str,
    output_dir: Path | str = "dist",
    formats: Iterable[str] | None = None,
    options: Options | None = None,
    **changes: Any,
) -> BuildResult:
    """Build the editions of one article into *output_dir*; raise :class:`ExporterError` on failure.

    *changes* are :class:`Options` fields (``style="modern"``, ``page_size="A5"``, ...).
    """
    options = _options(options, formats, changes)
    path = Path(source)
    document = build_document(read_source(path, options), options)
    editions, warnings = render_editions(document, options)
    serious = [warning for warning in warnings if warning.severity == "warning"]
    if options.strict and serious:
        raise StrictError(f"{len(serious)} warning(s) with --strict: {serious[0]}", path=path)
    outputs = write_editions(editions, Path(output_dir), document.stem)
    return BuildResult(path, outputs, warnings)


def build_many(
    sources: Iterable[Path | str],
    output_dir: Path | str = "dist",
    formats: Iterable[str] | None = None,
    options: Options | None = None,
    **changes: Any,
) -> list[BuildResult | Failure]:
    """Build each source in turn; a failing source is reported as a :class:`Failure`."""
    options = _options(options, formats, changes)
    results: list[BuildResult | Failure] = []
    for source in sources:
        try:
            results.append(build(source, output_dir, options=options))
        except ExporterError as error:
            results.append(Failure(Path(source), error))
    return results


def render_editions(
    document: Document, options: Options
) -> tuple[dict[str, bytes], tuple[Diagnostic, ...]]:
    """Render every asked-for edition in memory; return them by format, with all warnings."""
    editions: dict[str, bytes] = {}
    warnings = list(document.warnings)
    pages = None
    # The PDF comes first when asked for: its page breaks become the EPUB's page list.
    if "pdf" in options.formats:
        from .editions.pdf import render_pdf

        editions["pdf"], pages, pdf_warnings = render_pdf(document, options)
        warnings.extend(pdf_warnings)
    if "epub" in options.formats:
        from .editions.epub import render_epub

        editions["epub"] = render_epub(document, options, pages=pages)
        if pages is None:
            warnings.append(Diagnostic("EPUB-NO-PAGE-LIST", "page list skipped: it follows the PDF "
                                       "edition's pages, which this build does not make",
                                       str(document.source.path), severity="note"))
    if "html" in options.formats:
        from .editions.html import render_html

        editions["html"] = render_html(document, options)
    ordered = {name: editions[name] for name in options.formats}
    return ordered, tuple(warnings)


def write_editions(editions: dict[str, bytes], output_dir: Path, stem: str) -> tuple[Output, ...]:
    """Write each edition atomically as ``output_dir/stem.format``."""
    outputs = []
    for edition_format, data in editions.items():
        path = output_dir / f"{stem}.{edition_format}"
        write_atomic(path, data)
        outputs.append(Output(edition_format, path, len(data), hashlib.sha256(data).hexdigest()))
    return tuple(outputs)


def _options(options: Options | None, formats: Iterable[str] | None, changes: dict[str, Any]) -> Options:
    options = options or Options()
    if formats is not None:
        changes = {**changes, "formats": tuple(formats)}
    return options.with_changes(**changes) if changes else options
