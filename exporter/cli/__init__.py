"""The command line: the only code that prints or exits.

Heavy libraries are imported only inside commands, so that ``exporter --help`` is fast.
"""

from __future__ import annotations

import sys

import click

from .. import __version__
from .build_command import build
from .preview_command import preview_command
from .tools import check_command, config_command, proof_command, verify_command


@click.group(commands=[build, check_command, proof_command, config_command, verify_command,
                      preview_command], context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="exporter")
def cli() -> None:
    """Turn Markdown articles into offline editions: HTML, EPUB 3 and PDF.

    Defaults for the build options can live in exporter.toml or in [tool.exporter]
    of a pyproject.toml (see 'exporter config').
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``exporter`` command (*argv* defaults to the process's arguments)."""
    cli.main(args=sys.argv[1:] if argv is None else argv, prog_name="exporter")


__all__ = ["cli", "main"]
