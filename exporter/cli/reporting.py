"""What the command line shows: each outcome as it comes, a batch's summary, and for a failure one
``Error:`` line and its exit status."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import click

from ..errors import BATCH_FAILED, HUNG_UP, INTERRUPTED, KILLED, READER_GONE, Diagnostic, ExporterError

if TYPE_CHECKING:
    from ..pipeline import BuildResult, Failure


@contextlib.contextmanager
def reporting(debug: bool = False) -> Iterator[None]:
    """Turn the project's exceptions (and any other) into one ``Error:`` line and an exit code."""
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Stopped as stop:  # (a closed terminal takes no more lines)
        with contextlib.suppress(OSError):
            click.echo(f"Error: stopped by {stop.name}; no partial output was left", err=True)
        raise
    except BrokenPipeError:  # the reader has what it wanted; Python's flush at exit must not fail
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(READER_GONE)
    except (Exception, KeyboardInterrupt) as error:
        if debug:
            raise
        if isinstance(error, ExporterError):
            message, code = str(error), error.exit_code
        elif isinstance(error, KeyboardInterrupt):
            message, code = "interrupted; no partial output was left", INTERRUPTED
        else:
            message = f"internal error: {type(error).__name__}: {error} (run with --debug for details)"
            code = BATCH_FAILED
        click.echo(f"Error: {message}", err=True)
        sys.exit(code)


class Stopped(SystemExit):
    """A signal that ends the command with its exit status, unwinding as it goes."""

    def __init__(self, name: str, status: int):
        super().__init__(status)
        self.name = name


@contextlib.contextmanager
def kill_unwinds() -> Iterator[list[int]]:
    """Make a plain ``kill`` (SIGTERM) or a closed terminal (SIGHUP) unwind the command as Ctrl-C
    does, stopping its workers and removing their files, which a second signal (or Ctrl-C) does
    not cut short; yield the exit statuses of the signals received (watchfiles turns them into the
    Ctrl-C that ends --watch)."""
    received: list[int] = []
    statuses = {signal.SIGTERM: KILLED, signal.SIGINT: INTERRUPTED}
    if hasattr(signal, "SIGHUP"):
        statuses[signal.SIGHUP] = HUNG_UP

    def unwind(signum: int, frame: object) -> None:
        for number in statuses:
            signal.signal(number, signal.SIG_IGN)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(statuses[signal.Signals(signum)])
        raise Stopped(signal.Signals(signum).name, received[-1])

    main = threading.current_thread() is threading.main_thread()
    previous = {number: signal.signal(number, unwind) for number in statuses} if main else {}
    try:
        yield received
    finally:
        if signal.getsignal(signal.SIGTERM) == unwind:  # (once one came, the others stay ignored)
            for number, handler in previous.items():
                signal.signal(number, handler)


class Reporter:
    """Prints each outcome as it arrives; a ``rich`` progress bar when stderr is a terminal."""

    def __init__(self, total: int, debug: bool = False):
        self.debug = debug
        self._bar: Any = None
        if total > 1 and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task("Building", total=total)

    def __enter__(self) -> Reporter:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def done(self, outcome: BuildResult | Failure) -> None:
        """Show one finished source: its warnings and files written or kept, or its error."""
        from ..pipeline import Failure

        if isinstance(outcome, Failure):
            if self.debug:
                click.echo(getattr(outcome.error, "details", ""), err=True)
                raise outcome.error
            lines = [f"Error: {outcome.error}"]
        else:
            verb = "Up to date" if outcome.reused else "Wrote"
            lines = [*map(warning_line, outcome.warnings),
                     *(f"{verb}: {out.path} ({format_size(out.size)})" for out in outcome.outputs)]
        for line in lines:
            if self._bar is not None:
                self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                click.echo(line, err=True)
        if self._bar is not None:
            self._bar.advance(self._task)

    def summary(self, outcomes: Sequence[BuildResult | Failure], seconds: float) -> int:
        """Print a summary of a batch (more than one source); return the exit status."""
        from ..pipeline import BuildResult

        built = [o for o in outcomes if isinstance(o, BuildResult)]
        failed = [o for o in outcomes if not isinstance(o, BuildResult)]
        if len(outcomes) > 1:
            files = [output for o in built for output in o.outputs]
            warnings = sum(w.severity == "warning" for o in built for w in o.warnings)
            click.echo(f"{len(built)} of {len(outcomes)} articles built ({sum(o.reused for o in built)}"
                       f" up to date): {len(files)} files, {format_size(sum(f.size for f in files))}, "
                       f"{warnings} warning(s), in {seconds:.1f} s", err=True)
            if failed:
                click.echo(f"Error: {len(failed)} of {len(outcomes)} articles failed: "
                           + ", ".join(str(f.source) for f in failed), err=True)
        if not failed:
            return 0
        return failed[0].error.exit_code if len(failed) == len(outcomes) else BATCH_FAILED


def warning_line(warning: Diagnostic) -> str:
    """A warning or note as the command line prints it."""
    return f"{'Note' if warning.severity == 'note' else 'Warning'}: {warning}"


def format_size(size: int) -> str:
    """A file size as the command line prints it: bytes, KiB (whole) or MiB (one decimal)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} bytes"
