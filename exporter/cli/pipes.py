"""Builds through pipes: an article on standard input, an edition on standard output."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..errors import OutputError, UsageProblem
from ..options import Options
from .progress import Reporter

#: ``-``: standard input as SOURCE, standard output as OUTPUT_DIR.
STDIO = Path("-")


def to_stdout(sources: Sequence[Path], options: Options, formats: Sequence[str],
               timeout: float) -> None:
    """``-o -``: the one edition asked for, as bytes on standard output; messages on stderr."""
    if len(formats) != 1:
        raise UsageProblem("'-o -' writes one edition: name it with a single -f")
    if len(sources) != 1 or sources[0].is_dir():
        raise UsageProblem("'-o -' takes exactly one SOURCE file (or '-')")
    if sys.stdout is None:
        raise OutputError("cannot write to standard output: it is closed", path="-")
    if formats[0] != "html" and sys.stdout.isatty():
        raise UsageProblem(f"'-o -' would write the binary {formats[0].upper()} edition to the "
                           f"terminal; redirect it (> article.{formats[0]}) or pipe it")
    from ..batch import Workers
    from ..pipeline import Failure
    from ..source import STDIN, read_stream

    source, data = sources[0], None
    if source == STDIO:
        source, data = Path(STDIN), read_stream(sys.stdin.buffer, options)
    with Workers(1, options, timeout) as workers:
        rendered = workers.render(source, data)
    if isinstance(rendered, Failure):
        raise rendered.error
    editions, warnings = rendered
    for warning in warnings:
        click.echo(f"{'Note' if warning.severity == 'note' else 'Warning'}: {warning}", err=True)
    try:
        sys.stdout.buffer.write(editions[formats[0]])
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise  # the reader went away: Reporting ends quietly
    except (OSError, ValueError, AttributeError) as error:  # (a full disk, a closed stream)
        raise OutputError(f"cannot write to standard output: {error}", path="-") from None


def from_stdin(output_dir: Path, options: Options, timeout: float) -> None:
    """``-`` as the only SOURCE with ``-o DIR``: write DIR/stdin.<format>."""
    from ..batch import Workers
    from ..source import STDIN, read_stream

    data = read_stream(sys.stdin.buffer, options)
    with Workers(1, options, timeout) as workers:
        (outcome,) = workers.build_all([Path(STDIN)], output_dir, data=data)
    reporter = Reporter(1)
    reporter.done(outcome)
    status = reporter.summary([outcome], 0)
    if status:
        sys.exit(status)
