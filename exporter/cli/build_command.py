"""``exporter build``: one article, a folder of them in parallel, a book, or a pipe."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from ..errors import OutputError, UsageProblem
from ..options import EDITIONS, FORMATS, STYLES, Options
from .reporting import Reporter, kill_unwinds, reporting, warning_line
from .runs import STDIO, Run, after_build, refuse_leading_out, watch_and_rebuild, working_folder

if TYPE_CHECKING:
    from ..config import Defaults

DEFAULT_OUTPUT = Path("dist")
#: 9999-12-31 23:59:59 UTC, the last moment a date of the editions can name.
_LAST_SECOND = 253_402_300_799
#: Options for builds from files, which a pipe goes without (unless a defaults file sets them).
_FILES_ONLY = {"book", "report", "manifest", "bag_dir", "catalog", "check", "proof", "watch"}
F = TypeVar("F", bound=Callable[..., Any])


class WithDefaults(click.Command):
    """A command whose option defaults come from the defaults file in force (``exporter.toml``)."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        # Help is shown whatever the file says; the preview passes the defaults it has read.
        if "default_map" not in extra and not any(arg in ("-h", "--help") for arg in args):
            with reporting():
                extra["default_map"] = own_defaults(self)
        given = list(args)  # (parsing consumes them; the preview reads them again)
        context = super().make_context(info_name, args, parent, **extra)
        context.meta["exporter.args"] = given
        return context


def own_defaults(command: click.Command, told: set[str] | None = None) -> dict[str, Any]:
    """Click's ``default_map`` of *command* from the defaults file (its keys checked against build's);
    a warning in *told* is not repeated (the preview reads the file at every build)."""
    from ..config import ConfigError

    defaults = read_defaults()
    for note in defaults.ignored:
        if told is None or note not in told:
            click.echo(f"Warning: {note}", err=True)
        if told is not None:
            told.add(note)
    options, names = build_options(), {param.name for param in command.params}
    values: dict[str, Any] = {}
    for key, value in defaults.values.items():
        param = options[key]
        if param.multiple and not isinstance(value, list):
            value = [value]
        if param.multiple and not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{key!r} must be text or a list of text", path=defaults.path)
        if param.is_flag and not isinstance(value, bool):
            raise ConfigError(f"{key!r} must be true or false", path=defaults.path)
        if not param.multiple and isinstance(value, (list, dict)):
            raise ConfigError(f"{key!r} takes one value, not a list or table", path=defaults.path)
        for item in value if param.multiple else [value]:  # (what Click would refuse, said of the file)
            try:
                param.type.convert(item, None, None)
            except click.BadParameter as error:
                raise ConfigError(f"{key!r}: {error.message}", path=defaults.path) from None
        if param.name in names:
            values[str(param.name)] = value
    if {"page-size", "margins"} & defaults.values.keys():
        from ..geometry import GeometryError, page_geometry

        try:
            page, margins = defaults.values.get("page-size", "A4"), defaults.values.get("margins")
            page_geometry(str(page), None if margins is None else str(margins))
        except GeometryError as error:
            raise ConfigError(error.message, path=defaults.path) from None
    return values


def build_options() -> dict[str, click.Option]:
    """The options of ``build`` by long name (``page-size``), as a defaults file spells them
    (but ``--debug`` and ``--watch``, which concern one run, not a project's habits)."""
    options = {}
    for param in build.params:
        long_names = [name for name in param.opts if name.startswith("--")]
        if isinstance(param, click.Option) and long_names and param.name not in ("debug", "watch"):
            options[long_names[0][2:].split("/")[0]] = param
    return options


def read_defaults() -> Defaults:
    """The defaults file in force in the working folder, its keys checked against build's options."""
    from ..config import load_defaults

    return load_defaults(working_folder(), {name: param.help or ""
                                            for name, param in build_options().items()})


def edition_options(command: F) -> F:
    """*command* with the options that shape an edition, shared by ``build`` and ``preview``."""
    for option in reversed((
        click.option("--style", "styles", multiple=True, metavar="NAME|FILE.css",
                     help=f"Bundled style ({', '.join(STYLES)}; default classic), or your own "
                          "stylesheet layered on top. Repeatable."),
        click.option("--page-size", default="A4", show_default=True, help="PDF page size: A4, A5, "
                     "B5, Letter, 6x9in, 5.5x8.5in or WIDTHxHEIGHT with units."),
        click.option("--margins", default=None, help="PDF margins: one to four lengths (top outer "
                     "bottom inner), e.g. '20mm 18mm'."),
        click.option("--edition", type=click.Choice(EDITIONS), default="standard", show_default=True,
                     help="PDF kind: tagged PDF/UA-1, print-ready PDF/X-4, or archival PDF/A-3."),
        click.option("--toc/--no-toc", default=None, help="Contents with page numbers (default: for "
                     "books and articles of 3+ sections)."),
    )):
        command = option(command)
    return command


def _finite(context: click.Context, param: click.Parameter, value: float) -> float:
    """Refuse NaN, which passes the range check."""
    if not math.isfinite(value):
        raise click.BadParameter("must be a number of seconds")
    return value


@click.command(cls=WithDefaults)
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--output-dir", type=click.Path(path_type=Path), default=DEFAULT_OUTPUT,
              show_default=True, help="Folder to write the editions into; '-' writes the one "
                                      "edition asked for with -f to standard output.")
@click.option("-f", "--format", "formats", multiple=True, metavar="|".join(FORMATS),
              help="Edition to write; repeat for several. Default: all three.")
@edition_options
@click.option("--book", default=None, metavar="TITLE|BOOK.yaml",
              help="Bind all SOURCES into one book with this title, or with the metadata and "
                   "article order of a YAML file.")
@click.option("--page-list/--no-page-list", default=True, show_default=True,
              help="The EPUB's page list, matching the PDF's pages (laid out for it when the PDF "
                   "is not built); --no-page-list makes the EPUB faster.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Articles built at once, in worker processes (default: the number of CPUs).")
@click.option("--timeout", type=click.FloatRange(min=0, max=10 ** 7), default=600,
              show_default=True, callback=_finite,
              help="Seconds one article may take before it is stopped (0: no limit).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Build a batch's articles on the workers of this Dask scheduler, which share "
                   "this folder's filesystem (needs exporter[dask]; a book or pipe builds here).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a JSON record per source: outputs, sizes, SHA-256, warnings, errors.")
@click.option("--manifest", is_flag=True,
              help="Write OUTPUT_DIR/SHA256SUMS for 'sha256sum -c', keeping other files' entries.")
@click.option("--bag", "bag_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="Also write a BagIt 1.0 bag of the editions and their sources "
                                  "into DIR (new or empty).")
@click.option("--catalog", is_flag=True,
              help="Also write OUTPUT_DIR/index.html and an OPDS catalog, catalog.xml, listing "
                   "every publication built with links to its editions (needs the EPUB).")
@click.option("--catalog-title", default="Library", show_default=True, metavar="TEXT",
              help="The title of the library page and the catalog.")
@click.option("--check", is_flag=True,
              help="Validate what was built, as 'exporter check' does (EPUBCheck, Ace, PDF checks).")
@click.option("--ace-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="EXPORTER_ACE_DIR", metavar="DIR", help="Where DAISY Ace is installed, for --check.")
@click.option("--proof", is_flag=True,
              help="Also write page images and a contact sheet of each PDF (in <name>-proof/).")
@click.option("--watch", is_flag=True,
              help="Keep running; rebuild what changed when a source or stylesheet is saved.")
@click.option("--force", is_flag=True, help="Rebuild even when nothing has changed.")
@click.option("--strict", is_flag=True, help="Fail on any warning (blocked or missing resource).")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
def build(sources: tuple[Path, ...], output_dir: Path, formats: tuple[str, ...],
          styles: tuple[str, ...], page_size: str, margins: str | None, edition: str,
          book: str | None, toc: bool | None, page_list: bool, jobs: int | None, timeout: float,
          scheduler: str | None, report: Path | None, manifest: bool, bag_dir: Path | None,
          catalog: bool, catalog_title: str, check: bool,
          ace_dir: Path | None, proof: bool, watch: bool, force: bool, strict: bool,
          debug: bool) -> None:
    """Build the editions of each SOURCE (files or folders; default: every article in content/).

    Writes OUTPUT_DIR/<name>.html, <name>.epub and <name>.pdf for each article, or
    OUTPUT_DIR/<slug of the title>.* for a --book. '-' as SOURCE reads Markdown from
    standard input.
    """
    with reporting(debug), kill_unwinds() as killed:
        options = make_options(formats, styles, page_size, margins, edition, strict, toc,
                               reuse=not force, page_list=page_list)
        if proof and "pdf" not in options.formats:
            raise UsageProblem("--proof needs the PDF edition; add -f pdf")
        if catalog and "epub" not in options.formats:
            raise UsageProblem("--catalog lists each publication as its EPUB describes it; "
                               "add -f epub")
        if catalog:
            from ..catalog import check_title

            catalog_title = check_title(catalog_title)
        context = click.get_current_context()
        typed = [param.opts[0] for param in context.command.params if param.name in _FILES_ONLY
                 and context.get_parameter_source(param.name) == ParameterSource.COMMANDLINE]
        if (output_dir == STDIO or STDIO in sources) and typed:
            raise UsageProblem(f"{', '.join(typed)} cannot be used with '-' (a pipe): build "
                               "from a file")
        if context.get_parameter_source("output_dir") == ParameterSource.DEFAULT:
            refuse_leading_out(output_dir)
        if output_dir == STDIO or sources == (STDIO,):
            build_pipe(sources, output_dir, options, formats, timeout)
            return
        run = Run(sources, output_dir, options, book, jobs, timeout, debug, scheduler)
        if catalog:  # (before any work, so that a long batch is not wasted)
            from ..catalog import refuse_clashes

            refuse_clashes(output_dir, [output_dir / f"{path.stem}.html" for path in run.paths
                                        if book is None and "html" in options.formats])
        if bag_dir is not None:
            from ..fixity import check_bag_dir

            check_bag_dir(bag_dir)
        try:
            status = run.once()
            listed = catalog_title if catalog else None
            status = after_build(run, status, report, manifest, bag_dir, check, ace_dir, proof,
                                 listed)
            if watch:
                watch_and_rebuild(run, listed)
                status = killed[0] if killed else status
        finally:
            run.close()
        if status:
            sys.exit(status)


def make_options(formats: Sequence[str], styles: Sequence[str], page_size: str,
                 margins: str | None, edition: str, strict: bool, toc: bool | None,
                 reuse: bool = True, page_list: bool = True) -> Options:
    """Check the option values and build the :class:`Options` they describe."""
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
    from ..geometry import head_size_pt, page_geometry

    # Checked now, so a bad value fails before any work.
    page_geometry(page_size, margins, head_size_pt(style))
    return Options(formats=tuple(dict.fromkeys(formats)) or FORMATS, style=style,
                   user_stylesheets=tuple(user_sheets), page_size=page_size, margins=margins,
                   edition=edition, strict=strict, toc=toc, reuse=reuse, page_list=page_list,
                   source_date_epoch=_source_date_epoch())


def _source_date_epoch() -> int | None:
    """The SOURCE_DATE_EPOCH of reproducible builds, checked, or None when unset."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit() or int(value) > _LAST_SECOND:
        raise UsageProblem(f"SOURCE_DATE_EPOCH={value!r} is not a whole number of seconds "
                           "before the year 10000")
    return int(value)


def build_pipe(sources: Sequence[Path], output_dir: Path, options: Options,
               formats: Sequence[str], timeout: float) -> None:
    """``-`` as SOURCE or OUTPUT_DIR: ``-o -`` writes the one edition asked for to standard
    output (messages on stderr); ``-`` with ``-o DIR`` writes DIR/stdin.<format>."""
    from ..batch import Workers
    from ..pipeline import Failure, render_source
    from ..source import STDIN

    if output_dir == STDIO:
        if len(formats) != 1:
            raise UsageProblem("'-o -' writes one edition: name it with a single -f")
        if len(sources) != 1 or sources[0].is_dir():
            raise UsageProblem("'-o -' takes exactly one SOURCE file (or '-')")
        if sys.stdout is None:
            raise OutputError("cannot write to standard output: it is closed", path="-")
        if formats[0] != "html" and sys.stdout.isatty():
            raise UsageProblem(f"'-o -' would write the binary {formats[0].upper()} edition to the "
                               f"terminal; redirect it (> article.{formats[0]}) or pipe it")
    source, data = sources[0], None
    if source == STDIO:
        source, data = Path(STDIN), _standard_input(options)
    with contextlib.closing(Workers(1, options, timeout)) as workers:
        if output_dir != STDIO:
            (outcome,) = workers.build_all([source], output_dir, data=data)
            Reporter(1).done(outcome)
            if isinstance(outcome, Failure):
                sys.exit(outcome.error.exit_code)
            return
        rendered = workers.run(render_source, source, source=source, options=options, data=data)
    if isinstance(rendered, Failure):
        raise rendered.error
    editions, warnings = rendered
    for warning in warnings:
        click.echo(warning_line(warning), err=True)
    try:
        sys.stdout.buffer.write(editions[formats[0]])
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise  # the reader went away: reporting() ends quietly
    except (OSError, ValueError, AttributeError) as error:  # (a full disk, a closed stream)
        raise OutputError(f"cannot write to standard output: {error}", path="-") from None


def _standard_input(options: Options) -> bytes:
    """The article piped in; a closed standard input (``<&-``) is the source's error."""
    from ..errors import SourceError
    from ..source import STDIN, read_stream

    if sys.stdin is None:
        raise SourceError("standard input is closed; nothing was built", path=STDIN)
    return read_stream(sys.stdin.buffer, options)
