"""The command line: with the entry point around it, the only code that prints or exits.

(:mod:`exporter.launch` starts it, and prints an unchanged command's answer before
it is loaded; :mod:`exporter.client` and :mod:`exporter.served` carry it to the
build server and back.)

It turns arguments (and defaults from a file) into
:class:`~exporter.options.Options`, calls the library, and turns the
project's exceptions into one ``Error:`` line and an exit status.  Heavy
libraries are imported only inside commands, so ``exporter --help`` is fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import __version__
from ..errors import ExporterError

#: Exit status of ``check`` (and ``build --check``) when a validator reports an error.
CHECK_FAILED = 12


class UsageProblem(ExporterError):
    """An option value the command cannot use."""

    exit_code = 2


class Reporting:
    """Turn the project's exceptions (and any other) into one ``Error:`` line and an exit code."""

    def __init__(self, debug: bool = False):
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
            fail(str(error), error.exit_code)
        if isinstance(error, KeyboardInterrupt):
            fail("interrupted; no partial output was left", 130)
        if isinstance(error, Exception):
            fail(f"internal error: {type(error).__name__}: {error} (run with --debug for "
                 "details)", 1)


def fail(message: str, code: int) -> NoReturn:
    """Print one ``Error:`` line and exit with *code*."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """The ``exporter`` group: reads the defaults file before any command runs."""

    def invoke(self, ctx: click.Context) -> Any:
        from .settings import defaults_map

        with Reporting():
            ctx.default_map = defaults_map(Path.cwd())
        return super().invoke(ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="exporter")
def cli() -> None:
    """Turn Markdown articles into offline editions: HTML, EPUB 3 and PDF.

    Defaults for any build option can live in exporter.toml or in [tool.exporter]
    of a pyproject.toml (see 'exporter config').
    """


def main(argv: list[str] | None = None, tool: str | None = None) -> None:
    """Entry point of the ``exporter`` command (*argv* defaults to the process's arguments).

    *tool* is the installation's :func:`~exporter.launch.fingerprint` when the caller
    has taken it already (the entry point, the build server).
    """
    args = sys.argv[1:] if argv is None else argv
    # The arguments as typed, for the record that lets an identical command skip its work.
    cli.main(args=args, prog_name="exporter", obj={"argv": list(args), "tool": tool})


from . import build_command, server_command, tools  # noqa: E402  (commands register themselves)

__all__ = ["CHECK_FAILED", "Reporting", "UsageProblem", "build_command", "cli", "fail", "main",
           "server_command",
           "tools"]
