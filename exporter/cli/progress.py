"""What a build shows while it runs: a progress bar on a terminal, plain lines elsewhere,
and a one-screen summary at the end."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..pipeline import BuildResult, Failure


class Reporter:
    """Prints each outcome as it arrives; a ``rich`` progress bar when stderr is a terminal."""

    def __init__(self, total: int, debug: bool = False):
        self.total, self.debug = total, debug
        self._bar: Any = None
        self._task: Any = None
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

    def _line(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(text, err=True)

    def done(self, outcome: BuildResult | Failure) -> None:
        """Show one finished source: its warnings, its files or its error."""
        from ..pipeline import BuildResult

        if isinstance(outcome, BuildResult):
            for line in result_lines(outcome, outcome.reused):
                self._line(line)
        else:
            if self.debug:
                click.echo(getattr(outcome.error, "details", ""), err=True)
                raise outcome.error
            self._line(f"Error: {outcome.error}")
        if self._bar is not None:
            self._bar.advance(self._task)

    def summary(self, outcomes: Sequence[BuildResult | Failure], seconds: float) -> int:
        """Print a summary of a batch (more than one source); return the exit status."""
        from ..pipeline import BuildResult

        failed = [o for o in outcomes if not isinstance(o, BuildResult)]
        if len(outcomes) > 1:
            click.echo(summary_line(summary_counts(outcomes), seconds), err=True)
            if failed:
                click.echo(f"Error: {len(failed)} of {len(outcomes)} articles failed: "
                           + ", ".join(str(f.source) for f in failed), err=True)
        if not failed:
            return 0
        return failed[0].error.exit_code if len(failed) == len(outcomes) else 1


def result_lines(result: BuildResult, reused: bool) -> list[str]:
    """What a finished article prints: its warnings, then each file written (or kept)."""
    lines = [f"{'Note' if w.severity == 'note' else 'Warning'}: {w}" for w in result.warnings]
    verb = "Up to date" if reused else "Wrote"
    lines.extend(f"{verb}: {output.path} ({format_size(output.size)})" for output in result.outputs)
    return lines


def summary_counts(outcomes: Sequence[BuildResult | Failure], all_reused: bool = False
                   ) -> dict[str, int]:
    """The figures of a batch's summary line (*all_reused*: as a rebuild that changed nothing)."""
    from ..pipeline import BuildResult

    built = [o for o in outcomes if isinstance(o, BuildResult)]
    return {"articles": len(outcomes), "built": len(built),
            "reused": len(built) if all_reused else sum(1 for o in built if o.reused),
            "files": sum(len(o.outputs) for o in built),
            "size": sum(out.size for o in built for out in o.outputs),
            "warnings": sum(1 for o in built for w in o.warnings if w.severity == "warning")}


def summary_line(counts: dict[str, int], seconds: float) -> str:
    """The last line of a build of several articles."""
    return (f"{counts['built']} of {counts['articles']} articles built ({counts['reused']} up to "
            f"date): {counts['files']} files, {format_size(counts['size'])}, "
            f"{counts['warnings']} warning(s), in {seconds:.1f} s")


def format_size(size: int) -> str:
    """A file size as the command line prints it: bytes, KiB (whole) or MiB (one decimal)."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}" if unit == "MiB" else f"{size / scale:.0f} {unit}"
    return f"{size} bytes"
