"""The command line: the only module that prints or exits.

It turns arguments into :class:`~exporter.options.Options`, calls the
pipeline, and turns the project's exceptions into one ``Error:`` line and an
exit status.  Heavy libraries are imported only inside commands, so
``exporter --help`` starts fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__
from .errors import ExporterError
from .options import EDITIONS, FORMATS, STYLES, Options

if TYPE_CHECKING:
    from .build import BuildResult

CONTENT_DIR = Path("content")
#: Exit status of ``check`` (and ``build --check``) when a validator reports an error.
CHECK_FAILED = 12
ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")


class UsageProblem(ExporterError):
    """An option value the command cannot use."""

    exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="exporter")
def cli() -> None:
    """Turn Markdown articles into offline editions: HTML, EPUB 3 and PDF."""


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--output-dir", type=click.Path(path_type=Path), default=Path("dist"),
              show_default=True, help="Folder to write the editions into.")
@click.option("-f", "--format", "formats", multiple=True, metavar="|".join(FORMATS),
              help="Edition to write; repeat for several. Default: all three.")
@click.option("--style", "styles", multiple=True, metavar="NAME|FILE.css",
              help=f"Bundled style ({', '.join(STYLES)}; default classic), or your own "
                   "stylesheet layered on top. Repeatable.")
@click.option("--page-size", default="A4", show_default=True,
              help="PDF page size: A4, A5, B5, Letter, 6x9in, 5.5x8.5in or WIDTHxHEIGHT with units.")
@click.option("--margins", default=None,
              help="PDF margins: one to four lengths (top outer bottom inner), e.g. '20mm 18mm'.")
@click.option("--edition", type=click.Choice(EDITIONS), default="standard", show_default=True,
              help="PDF kind: tagged PDF/UA-1, print-ready PDF/X-4, or archival PDF/A-3.")
@click.option("--book", "book", default=None, metavar="TITLE|BOOK.yaml",
              help="Bind all SOURCES into one book with this title, or with the metadata and "
                   "article order of a YAML file.")
@click.option("--toc/--no-toc", default=None,
              help="Contents with page numbers (default: for books and articles of 3+ sections).")
@click.option("--manifest", is_flag=True,
              help="Write OUTPUT_DIR/SHA256SUMS for 'sha256sum -c', keeping other files' entries.")
@click.option("--bag", "bag_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="Also write a BagIt 1.0 bag of the editions and their sources "
                                  "into DIR (new or empty).")
@click.option("--check", is_flag=True,
              help="Validate what was built, as 'exporter check' does (EPUBCheck, Ace, PDF checks).")
@click.option("--ace-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="EXPORTER_ACE_DIR", metavar="DIR", help="Where DAISY Ace is installed, for --check.")
@click.option("--strict", is_flag=True, help="Fail on any warning (blocked or missing resource).")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
def build(sources: tuple[Path, ...], output_dir: Path, formats: tuple[str, ...],
          styles: tuple[str, ...], page_size: str, margins: str | None, edition: str,
          book: str | None, toc: bool | None, manifest: bool, bag_dir: Path | None,
          check: bool, ace_dir: Path | None, strict: bool, debug: bool) -> None:
    """Build the editions of each SOURCE (files or folders; default: every article in content/).

    Writes OUTPUT_DIR/<name>.html, <name>.epub and <name>.pdf for each article, or
    OUTPUT_DIR/<slug of the title>.* for a --book.
    """
    with _reporting(debug):
        options = _make_options(formats, styles, page_size, margins, edition, strict, toc)
        book_file = Path(book) if book and book.endswith((".yaml", ".yml")) else None
        paths = list(_expand_sources(sources, allow_empty=book_file is not None))
        if bag_dir is not None:
            from .fixity import check_bag_dir

            check_bag_dir(bag_dir)  # before any work, so a long batch is not wasted
        from .build import BuildResult, Failure, build_book, build_many

        results: list[BuildResult | Failure]
        if book is not None:
            results = [build_book(paths, output_dir, title=None if book_file else book,
                                  book_file=book_file, options=options)]
        else:
            results = build_many(paths, output_dir, options=options)
        built = [result for result in results if isinstance(result, BuildResult)]
        failed = [result for result in results if isinstance(result, Failure)]
        for result in built:
            for warning in result.warnings:
                label = "Note" if warning.severity == "note" else "Warning"
                click.echo(f"{label}: {warning}", err=True)
            verb = "Up to date" if result.reused else "Wrote"
            for output in result.outputs:
                click.echo(f"{verb}: {output.path} ({_size(output.size)})", err=True)
        for failure in failed:
            if debug:
                raise failure.error
            click.echo(f"Error: {failure.error}", err=True)
        _write_fixity(built, output_dir, manifest, bag_dir, len(failed))
        if check and built:
            from .check import check_files, format_findings, has_errors

            checked = [o.path for r in built for o in r.outputs if o.format in ("epub", "pdf")]
            findings = check_files(checked, ace_dir=ace_dir)
            click.echo(format_findings(findings), err=True)
            if has_errors(findings):
                sys.exit(CHECK_FAILED)
        if failed:
            if len(paths) > 1:
                click.echo(f"Error: {len(failed)} of {len(paths)} articles failed", err=True)
            sys.exit(failed[0].error.exit_code if len(failed) == len(paths) else 1)


def _write_fixity(built: Sequence[BuildResult], output_dir: Path, manifest: bool,
                  bag_dir: Path | None, failures: int) -> None:
    """Write SHA256SUMS and the BagIt bag for what was built, as asked."""
    from .fixity import bagging_date, write_bag, write_manifest

    editions = [output.path for result in built for output in result.outputs]
    if manifest and editions:
        path = write_manifest(editions, output_dir)
        click.echo(f"Wrote {path}", err=True)
    if bag_dir is None:
        return
    if failures:
        raise UsageProblem(f"bag not written: {failures} article(s) failed", path=bag_dir)
    write_bag(bag_dir, editions, [source for result in built for source in result.sources],
              external_identifier=list(dict.fromkeys(result.identifier for result in built)),
              bagging_date=bagging_date(result.date for result in built),
              tool=f"exporter {__version__}")
    click.echo(f"Wrote bag {bag_dir}", err=True)


@cli.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print the findings as a JSON array (code, severity, file, message).")
@click.option("--ace-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="EXPORTER_ACE_DIR", show_envvar=True, metavar="DIR",
              help="Folder where DAISY Ace was installed with npm (holds node_modules/.bin/"
                   "ace-puppeteer). Default: ace-puppeteer on PATH.")
def check_command(files: tuple[Path, ...], as_json: bool, ace_dir: Path | None) -> None:
    """Check EPUB and PDF FILES, whoever made them.

    EPUBs go through EPUBCheck and DAISY Ace; PDFs are checked for embedded fonts,
    tags, language, title, PDF/A, PDF/UA and PDF/X identification and page boxes.
    Exits with status 12 when any finding is an error.
    """
    with _reporting(debug=False):
        from .check import check_files, findings_to_json, format_findings, has_errors

        findings = check_files(files, ace_dir=ace_dir)
        click.echo(findings_to_json(findings) if as_json else format_findings(findings))
        if has_errors(findings):
            sys.exit(CHECK_FAILED)


def _make_options(formats: Sequence[str], styles: Sequence[str], page_size: str,
                  margins: str | None, edition: str, strict: bool, toc: bool | None) -> Options:
    for name in formats:
        if name not in FORMATS:
            raise UsageProblem(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
    style, user_sheets = "classic", []
    for value in styles:
        if value.endswith(".css") or os.sep in value:
            path = Path(value)
            if not path.is_file():
                raise UsageProblem("no such stylesheet", path=path)
            user_sheets.append(path)
        elif value in STYLES:
            style = value
        else:
            raise UsageProblem(f"unknown style {value!r}; choose from {', '.join(STYLES)} "
                               "or give a .css file")
    from .geometry import page_geometry

    page_geometry(page_size, margins)  # checked now, so a bad value fails before any work
    return Options(
        formats=tuple(dict.fromkeys(formats)) or FORMATS,
        style=style,
        user_stylesheets=tuple(user_sheets),
        page_size=page_size,
        margins=margins,
        edition=edition,
        strict=strict,
        toc=toc,
        source_date_epoch=_source_date_epoch(),
    )


def _source_date_epoch() -> int | None:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit():
        raise UsageProblem(f"SOURCE_DATE_EPOCH={value!r} is not a whole number of seconds")
    return int(value)


def _expand_sources(sources: Sequence[Path], allow_empty: bool = False) -> Iterator[Path]:
    """Files as given; folders (and the default content/) as every article inside, sorted."""
    if not sources and allow_empty:
        return
    if not sources:
        if not CONTENT_DIR.is_dir():
            raise UsageProblem("no SOURCE given and no content/ folder here")
        sources = (CONTENT_DIR,)
    for source in sources:
        if source.is_dir():
            found = sorted(p for p in source.rglob("*")
                           if p.suffix.lower() in ARTICLE_SUFFIXES and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(source).parts))
            if not found:
                raise UsageProblem("folder holds no .md, .markdown or .txt article", path=source)
            yield from found
        else:
            yield source


def _size(size: int) -> str:
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} bytes"


class _reporting:
    """Turn the project's exceptions (and any other) into one ``Error:`` line and an exit code."""

    def __init__(self, debug: bool):
        self.debug = debug

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        if error is None or isinstance(error, (SystemExit, click.exceptions.Exit,
                                               click.ClickException, click.Abort)):
            return
        if self.debug:
            return
        if isinstance(error, ExporterError):
            _fail(str(error), error.exit_code)
        if isinstance(error, KeyboardInterrupt):
            _fail("interrupted; no partial output was left", 130)
        if isinstance(error, Exception):
            _fail(f"internal error: {type(error).__name__}: {error} (run with --debug for "
                  "details)", 1)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def main() -> None:
    """Entry point of the ``exporter`` command."""
    cli(prog_name="exporter")
