"""Build many articles in parallel worker processes, each bounded in time.

Every worker renders many documents in one process with one
:class:`~exporter.session.Session`, so WeasyPrint is imported and the fonts and
stylesheets are loaded once per worker.  A failing or overlong article is
reported as a :class:`~exporter.pipeline.Failure`; the others go on.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from .errors import ExporterError, RenderError
from .options import Options
from .pipeline import BuildResult, Failure, build
from .session import Session

if TYPE_CHECKING:
    from concurrent.futures import Future

Outcome = BuildResult | Failure


def default_jobs() -> int:
    """Worker processes by default: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def build_all(
    sources: Sequence[Path],
    output_dir: Path,
    options: Options,
    *,
    jobs: int = 1,
    timeout: float | None = None,
    on_done: Callable[[Outcome], None] | None = None,
    session: Session | None = None,
) -> list[Outcome]:
    """Build every source, *jobs* at a time; results come back in the order of *sources*.

    One job builds here, in *session*; more build in worker processes, each with its own.
    """
    if jobs <= 1 or len(sources) <= 1:
        session = session or Session()
        outcomes = []
        for source in sources:
            outcome = _build_one(source, output_dir, options, timeout, session)
            if on_done:
                on_done(outcome)
            outcomes.append(outcome)
        return outcomes
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from multiprocessing import get_context

    results: dict[int, Outcome] = {}
    workers = min(jobs, len(sources))
    # Fork: workers start with the parent's imports, and never read the environment anew.
    with ProcessPoolExecutor(workers, mp_context=get_context("fork"),
                             initializer=_warm_up, initargs=(options,)) as pool:
        pending: dict[Future[Outcome], int] = {
            pool.submit(_build_one, source, output_dir, options, timeout, None): index
            for index, source in enumerate(sources)
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as error:  # a worker died: report, never hide
                    outcome = Failure(sources[index], RenderError(
                        f"worker stopped unexpectedly: {type(error).__name__}: {error}",
                        path=sources[index]))
                results[index] = outcome
                if on_done:
                    on_done(outcome)
    return [results[index] for index in range(len(sources))]


#: The session of this worker process (set by :func:`_warm_up`, in workers only).
_worker_session: Session | None = None


def _warm_up(options: Options) -> None:
    """Start a worker: its session, and what the editions import, before the first article."""
    global _worker_session
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _worker_session = Session()
    if "pdf" in options.formats:
        import weasyprint  # noqa: F401


def _build_one(source: Path, output_dir: Path, options: Options, timeout: float | None,
               session: Session | None) -> Outcome:
    try:
        with _time_limit(timeout, source):
            return build(source, output_dir, options=options, session=session or _worker_session)
    except ExporterError as error:
        return Failure(source, error)


class _TimeUp(Exception):
    pass


@contextmanager
def _time_limit(seconds: float | None, source: Path) -> Iterator[None]:
    """Stop the build of one article after *seconds* (in the main thread of a process)."""
    if not seconds:
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TimeUp:
        raise RenderError(f"took longer than {seconds:g} s; stopped, nothing written",
                          path=source) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
