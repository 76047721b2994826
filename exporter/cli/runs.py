"""A build of everything asked for, repeated by ``--watch``, and what follows it: report,
manifest, bag, catalog, proofs and checks."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..errors import CHECK_FAILED, ExecutorError, ExporterError, StrictError, UsageProblem
from ..options import Options
from ..source import SUFFIXES
from .reporting import Reporter, Stopped

if TYPE_CHECKING:
    from ..pipeline import BuildResult, Failure

#: Where articles are looked for when no SOURCE is given.
CONTENT_DIR = Path("content")
#: ``-``: standard input as SOURCE, standard output as OUTPUT_DIR.
STDIO = Path("-")
#: Files an article may use besides itself: stylesheets, book files, images and fonts.
_USED_SUFFIXES = {".css", ".yaml", ".yml", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg",
                  ".otf", ".ttf", ".woff", ".woff2"}


class Run:
    """One build of everything asked for, repeatable (for --watch)."""

    def __init__(self, sources: Sequence[Path], output_dir: Path, options: Options, book: str | None,
                 jobs: int | None, timeout: float, debug: bool, scheduler: str | None = None):
        self.sources, self.output_dir, self.options = sources, output_dir, options
        self.book, self.debug, self.timeout, self.scheduler = book, debug, timeout or None, scheduler
        self.book_file = Path(book) if book and book.endswith((".yaml", ".yml")) else None
        self.paths = self.find()
        self.outcomes: list[BuildResult | Failure] = []
        #: The latest outcome of each source, across the rebuilds of --watch.
        self.latest: dict[Path, BuildResult | Failure] = {}
        from ..batch import Workers, default_jobs

        self.workers = Workers(jobs or default_jobs(), options, timeout)  # (warm for --watch)
        self.client: Any = None  # the Dask client of --scheduler, connected on first use

    def find(self) -> list[Path]:
        """The articles: files as given, and every article inside the folders (default: content/),
        but links out of them; two articles of one name are refused unless bound into a book."""
        from ..resources import is_inside

        sources, paths = self.sources, []
        if not sources and self.book_file is None:
            if not CONTENT_DIR.is_dir():
                raise UsageProblem("no SOURCE given and no content/ folder here")
            refuse_leading_out(CONTENT_DIR)
            sources = (CONTENT_DIR,)
        for source in sources:
            if source == STDIO:
                raise UsageProblem("'-' (standard input) needs '-o -' or a single SOURCE with -o DIR")
            if not source.is_dir():
                paths.append(source)
                continue
            found = [path for path in sorted(source.rglob("*")) if path.suffix.lower() in SUFFIXES
                     and path.is_file() and not any(part.startswith(".") for part in
                                                    path.relative_to(source).parts)]
            inside = [path for path in found if is_inside(path, [source])]
            for path in found:
                if path not in inside:
                    message = "leads outside the folder given; not built"
                    if self.options.strict:
                        raise StrictError(message, path=path)
                    click.echo(f"Warning: {path}: {message}", err=True)
            if not inside:
                raise UsageProblem("folder holds no .md, .markdown or .txt article", path=source)
            paths += inside
        seen: dict[str, Path] = {}
        for path in paths if self.book is None else ():
            if (first := seen.setdefault(path.stem, path)) != path:
                raise UsageProblem(f"{first} and {path} would both write {self.output_dir / path.stem}"
                                   ".*; rename one, or build them into different folders")
        return paths

    def close(self) -> None:
        """Stop the worker processes, and leave the Dask scheduler."""
        self.workers.close()
        if self.client is not None:
            self.client.close()
            self.client = None

    @property
    def built(self) -> list[BuildResult]:
        """What the last build wrote."""
        from ..pipeline import BuildResult

        return [outcome for outcome in self.outcomes if isinstance(outcome, BuildResult)]

    @property
    def all_built(self) -> list[BuildResult]:
        """What the latest build of each source still asked for wrote (for the catalog)."""
        from ..pipeline import BuildResult

        return [outcome for source, outcome in self.latest.items() if isinstance(outcome, BuildResult)
                and (self.book is not None or source in self.paths)]

    def once(self, only: list[Path] | None = None) -> int:
        """Build (the *only* sources, or all); print what happened; return an exit status."""
        started = time.monotonic()
        paths = only or self.paths
        with Reporter(len(paths) if self.book is None else 1, self.debug) as reporter:
            if self.book is not None:
                from ..pipeline import build_book

                self.outcomes = [self.workers.run(
                    build_book, self.book_file or (self.paths[0] if self.paths else Path("book")),
                    sources=self.paths, output_dir=self.output_dir, options=self.options,
                    title=None if self.book_file else self.book, book_file=self.book_file)]
                reporter.done(self.outcomes[0])
            elif self.scheduler:
                from ..batch import build_on

                if self.client is None:
                    self.client = connect(self.scheduler)
                self.outcomes = build_on(self.client.get_executor(pure=False), paths, self.output_dir,
                                         self.options, self.timeout, reporter.done,
                                         lambda: self.client.status == "running")
            else:
                self.outcomes = self.workers.build_all(paths, self.output_dir, on_done=reporter.done)
        if only is None:
            self.latest.clear()
        self.latest.update((outcome.source, outcome) for outcome in self.outcomes)
        status = reporter.summary(self.outcomes, time.monotonic() - started)
        lost = [str(o.source) for o in self.outcomes if isinstance(getattr(o, "error", None),
                                                                     ExecutorError)]
        if lost and self.scheduler:
            gone = self.client is not None and self.client.status != "running"
            click.echo(f"Error: {self.scheduler}: "
                       + ("the Dask scheduler went away" if gone else "the cluster could not build")
                       + f"; {len(self.built)} of {len(self.outcomes)} articles built, "
                       f"{len(lost)} not: {', '.join(lost)}", err=True)
            if gone:  # (--watch connects again for its next build)
                self.close()
            status = ExecutorError.exit_code
        return status


def connect(address: str) -> Any:
    """A Dask client of the scheduler at *address* (Dask is imported only here)."""
    import logging

    try:
        from distributed import Client
        from distributed.comm.addressing import get_address_host_port
    except ImportError:
        raise UsageProblem("--scheduler needs Dask: pip install 'exporter[dask]'") from None
    try:
        get_address_host_port(address)
    except ValueError as error:
        raise UsageProblem(f"--scheduler {address!r}: {error}; give tcp://HOST:PORT") from None
    # (Dask's tracebacks when the scheduler goes away are not for our users: we say what happened)
    for name in ("distributed", "tornado"):
        for handler in logging.getLogger(name).handlers:
            handler.setLevel(logging.CRITICAL)
    try:
        return Client(address, set_as_default=False)
    except OSError as error:
        raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {error}; nothing "
                            "was built") from None


def watch_and_rebuild(run: Run, catalog: str | None) -> None:
    """Rebuild on every save of a source or a file it uses, until Ctrl-C; an article added to or
    removed from a folder given joins or leaves the build; the *catalog* is written anew."""
    from watchfiles import watch

    from ..resources import styles_dir

    default = (CONTENT_DIR,) if run.book_file is None else ()
    folders = [path.resolve() for path in (run.sources or default) if path.is_dir()]
    # (a book's own articles, named in its book file, and the book file too)
    book_files = [path for result in run.built for path in result.sources]
    book_files += [run.book_file] if run.book_file else []
    bundled, written = styles_dir().resolve(), run.output_dir.resolve()
    targets = {path.resolve().parent for path in [*run.options.user_stylesheets, *run.paths,
                                                  *book_files] if path.is_file()}
    targets.update(folders, [bundled])
    sources = {path.resolve(): path for path in [*run.paths, *book_files]}
    watching = False
    try:
        # (an empty set every half second: the first says the watcher is running, so a save
        # made after "Watching" is never missed)
        for changes in watch(*targets, debounce=300, rust_timeout=500, yield_on_timeout=True):
            if not watching:
                click.echo(f"Watching {len(targets)} folder(s); Ctrl-C stops.", err=True)
                watching = True
            # (what the build writes, editors' hidden files and a log beside it are no change)
            changed = {path for path in (Path(name).resolve() for _, name in changes)
                       if not path.is_relative_to(written) and not path.name.startswith(".")
                       and (path in sources or path.suffix.lower() in _USED_SUFFIXES
                            or (path.suffix.lower() in SUFFIXES
                                and any(path.is_relative_to(folder) for folder in folders))
                            or path.is_relative_to(bundled))}
            if not changed:
                continue
            if any((path not in sources and path.suffix.lower() in SUFFIXES)
                   or (path in sources and not path.exists()) for path in changed):
                try:
                    run.paths = run.find()
                except ExporterError as problem:
                    click.echo(f"Warning: {problem}; the articles built stay as they were", err=True)
                    continue
                added = [path for path in run.paths if path.resolve() not in sources]
                sources = {path.resolve(): path for path in [*run.paths, *book_files]}
                changed = {path for path in changed if path in sources or path.suffix.lower()
                           not in SUFFIXES} | {path.resolve() for path in added}
                if not changed:
                    continue
            if any(path.is_relative_to(bundled) for path in changed):
                run.close()  # new workers read the bundled styles and fonts afresh
            # A saved article alone is rebuilt alone; any other file (an image, a stylesheet,
            # what one names) rebuilds all, and the cache keeps what the change does not reach.
            articles = [sources[path] for path in changed if path in sources]
            only = articles if len(articles) == len(changed) and not run.book else None
            status = run.once(only)
            try:
                write_catalog_of(run.all_built, run.output_dir, catalog)
            except ExporterError as problem:
                click.echo(f"Warning: {problem}", err=True)
            names = (", ".join(p.name for p in (only or run.paths)) if run.book is None
                     else run.book_file.name if run.book_file else f"the book {run.book!r}")
            click.echo(f"Rebuilt {names}: {'failed' if status else 'ok'}", err=True)
    except (KeyboardInterrupt, Stopped):  # (a signal while waiting, or while rebuilding)
        with contextlib.suppress(OSError):  # (a closed terminal takes no more lines)
            click.echo("Stopped watching.", err=True)


def refuse_leading_out(folder: Path) -> None:
    """A default folder (``content/``, ``dist/``) that is a link out of the working folder, as a
    cloned repository could ship, is refused: name it yourself if you mean it."""
    from ..resources import is_inside

    if folder.exists() and not is_inside(folder, [working_folder()]):
        raise UsageProblem(f"{folder}/ leads outside the working folder; name the folder you "
                           "mean on the command line", path=folder)


def working_folder() -> Path:
    """The working folder; a clear error when it has been deleted (as by another shell)."""
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise UsageProblem("the working folder no longer exists; change to one that does") from None


def after_build(run: Run, status: int, report: Path | None, manifest: bool, bag_dir: Path | None,
                check: bool, ace_dir: Path | None, proof: bool, catalog: str | None) -> int:
    """Reports, fixity, proofs and checks on what *run* built; return the exit status."""
    built, output_dir = run.built, run.output_dir
    if report is not None:
        from ..output import write_atomic

        write_atomic(report, json.dumps(report_record(run.outcomes), indent=2).encode("utf-8") + b"\n")
        click.echo(f"Wrote {report}", err=True)
    editions = [output.path for result in built for output in result.outputs]
    if manifest and editions:
        from ..fixity import write_manifest

        click.echo(f"Wrote {write_manifest(editions, output_dir)}", err=True)
    from ..pipeline import Failure

    failed = [str(outcome.source) for outcome in run.outcomes if isinstance(outcome, Failure)]
    if bag_dir is not None and failed:  # (a bag that silently lacks an article is worse than none)
        click.echo(f"Error: {bag_dir}: bag not written: it would lack {', '.join(failed)}, which "
                   "failed; a bag holds every article asked for", err=True)
    elif bag_dir is not None:
        from ..fixity import bagging_date, write_bag

        inputs, record = _kept(built, run.options)
        write_bag(bag_dir, editions, inputs, record,
                  external_identifier=list(dict.fromkeys(result.identifier for result in built)),
                  bagging_date=bagging_date(result.date for result in built),
                  tool=f"exporter {__version__}")
        click.echo(f"Wrote bag {bag_dir}", err=True)
    write_catalog_of(built, output_dir, catalog)
    pdfs = [path for path in editions if path.suffix == ".pdf"]
    if proof and pdfs:
        from ..proof import write_proofs

        for pdf in pdfs:
            folder = pdf.with_name(f"{pdf.stem}-proof")
            if folder.is_symlink():  # (its old pages are removed: never through a link)
                raise UsageProblem("the proofs' folder is a link; remove it", path=folder)
            result = write_proofs(pdf, folder)
            click.echo(f"Wrote proofs: {result.contact_sheet}", err=True)
    if check and editions:
        from ..check import check_files, format_findings, has_errors

        findings = check_files([p for p in editions if p.suffix in (".epub", ".pdf")],
                               ace_dir=ace_dir)
        click.echo(format_findings(findings), err=True)
        if has_errors(findings):
            status = status or CHECK_FAILED
    return status


def write_catalog_of(built: list[BuildResult], output_dir: Path, title: str | None) -> None:
    """Write the library page and the OPDS catalog of what was built, when asked (*title*)."""
    if title is not None and built:
        from ..catalog import write_catalog

        page, feed = write_catalog([result.outputs for result in built], output_dir, title)
        click.echo(f"Wrote catalog: {page}, {feed}", err=True)


def _kept(built: list[BuildResult], options: Options) -> tuple[list[tuple[str, Path]], bytes]:
    """The inputs of every build, by archive name, and the bag's record of the builds; a build
    whose names clash with an earlier one's (two folders' ``img.png``) goes under ``sources/N/``."""
    from ..archive import RECORD_FORMAT, build_record, kept_inputs, stylesheet_inputs

    styles = stylesheet_inputs(options)  # (read once: every build shares the options)
    inputs: dict[str, Path] = {}
    builds = []
    for number, result in enumerate(built, start=1):
        book_file = result.binding.file if result.binding else None
        kept = kept_inputs(result.sources, result.inputs, book_file, styles)
        if any(inputs.get(name, path) != path for name, path in kept):
            kept = kept_inputs(result.sources, result.inputs, book_file, styles,
                               f"sources/{number}/")
        inputs.update(kept)
        record = build_record(result.sources, result.binding, options, kept)
        builds.append({**record, "editions": {out.path.name: out.sha256 for out in result.outputs}})
    text = json.dumps({"format": RECORD_FORMAT, "builds": builds}, indent=1, sort_keys=True,
                      ensure_ascii=False)
    return sorted(inputs.items()), text.encode("utf-8") + b"\n"


def report_record(outcomes: Sequence[BuildResult | Failure]) -> dict[str, Any]:
    """A machine-readable record of a build: one entry per source, in order."""
    from ..pipeline import Failure

    entries: list[dict[str, Any]] = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"source": str(outcome.source), "status": "failed",
                                 "outputs": [], "warnings": [], "error": None}
        if isinstance(outcome, Failure):
            error = outcome.error
            entry.update(error={"type": type(error).__name__, "message": error.message,
                                                 "line": error.line, "exit_code": error.exit_code})
        else:
            entry.update(status="reused" if outcome.reused else "built", outputs=[
                {**dataclasses.asdict(o), "path": str(o.path)} for o in outcome.outputs], warnings=[
                {"code": w.code, "severity": w.severity, "message": w.message, "line": w.line}
                for w in outcome.warnings])
        entries.append(entry)
    return {"tool": f"exporter {__version__}", "sources": entries}
