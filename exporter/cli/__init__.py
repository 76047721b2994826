"""The command line: the only code that prints or exits.

It turns arguments (and, for ``build`` and ``preview``, defaults from a file) into
:class:`~exporter.options.Options`, calls the library, and turns the
project's exceptions into one ``Error:`` line and an exit status
(:mod:`exporter.cli.reporting`).  Heavy libraries are imported only inside
commands, so ``exporter --help`` is fast.
"""

from __future__ import annotations

import sys

import click

from .. import __version__
from .build_command import build
from .preview_command import preview_command
from .tools import check_command, config_command, proof_command
from .verify_command import verify_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="exporter")
def cli() -> None:
    """Turn Markdown articles into offline editions: HTML, EPUB 3 and PDF.

    Defaults for the build options can live in exporter.toml or in [tool.exporter]
    of a pyproject.toml (see 'exporter config').
    """


cli.add_command(build)
cli.add_command(check_command)
cli.add_command(proof_command)
cli.add_command(config_command)
cli.add_command(verify_command)
cli.add_command(preview_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``exporter`` command (*argv* defaults to the process's arguments)."""
    cli.main(args=sys.argv[1:] if argv is None else argv, prog_name="exporter")


__all__ = ["cli", "main"]
