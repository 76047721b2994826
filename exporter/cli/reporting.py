"""How the command line ends: one ``Error:`` line and the exit status of the failure."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from ..errors import BATCH_FAILED, INTERRUPTED, READER_GONE, ExporterError


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
        if isinstance(error, BrokenPipeError):
            # The reader has what it wanted; Python's own flush at exit must not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(READER_GONE)
        if self.debug:
            return
        if isinstance(error, ExporterError):
            fail(str(error), error.exit_code)
        if isinstance(error, KeyboardInterrupt):
            fail("interrupted; no partial output was left", INTERRUPTED)
        if isinstance(error, Exception):
            fail(f"internal error: {type(error).__name__}: {error} (run with --debug for "
                 "details)", BATCH_FAILED)


def fail(message: str, code: int) -> NoReturn:
    """Print one ``Error:`` line and exit with *code*."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)
