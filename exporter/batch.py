"""Build articles in worker processes, each article bounded in time.

Every worker renders many documents with one :class:`~exporter.session.Session`,
so WeasyPrint is imported and the fonts and stylesheets are loaded once per
worker.  A time limit is kept by killing the worker that overruns it and
starting another, so it holds wherever the work is, even inside a library's C
code or a callback that would swallow an alarm.  A failing, overlong or
crashed article is reported as a :class:`~exporter.pipeline.Failure`; the
others go on.

:func:`build_article` is the same work as a task for any ``concurrent.futures``
executor (a process pool, a Dask cluster's ``Client.get_executor()``): the
executor's process builds the article in a worker process of its own, kept warm
between tasks, so the time limit holds there too.

(Pebble's process pool kills overrunning tasks too, but it polls every tenth
of a second, which every command would wait for once more at its end.)
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Diagnostic, ExecutorError, ExporterError, InternalError, RenderError, reason
from .options import Options
from .pipeline import BuildResult, Failure, build, build_book, render_source
from .session import Session

if TYPE_CHECKING:
    from concurrent.futures import Executor
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

Outcome = BuildResult | Failure
#: Editions rendered in memory, by format, and the warnings met.
Rendered = tuple[dict[str, bytes], tuple[Diagnostic, ...]]
#: A task for a worker: a function of a session and arguments, and the source it builds.
Task = tuple[Callable[..., Any], tuple[Any, ...], Path]

#: The parent's ends of the pipes of every worker this process started, in any pool or thread:
#: each new worker closes them all, so that each worker sees its own pipe end with its parent.
_PARENT_ENDS: list[Connection] = []
_STARTING = threading.Lock()
#: Per thread of an executor's process: the pool that :func:`build_article` builds in.
_here = threading.local()


def default_jobs() -> int:
    """Worker processes by default: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection
    #: The task it is building: its place in the batch, its source, and when it must end.
    busy: tuple[int, Path, float | None] | None = None


class Workers:
    """Up to *jobs* worker processes that build articles, each within *timeout* seconds.

    The workers start on first use and stay until :meth:`close` (or the end of a
    ``with`` block), so ``--watch`` rebuilds in a warm process.
    """

    def __init__(self, jobs: int, options: Options, timeout: float | None):
        self.jobs, self.options, self.timeout = max(1, jobs), options, timeout or None
        self._idle: list[_Worker] = []

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the idle workers (busy ones are stopped by :meth:`_run` as it leaves)."""
        _stop_idle(self._idle)

    def build_all(self, sources: Sequence[Path], output_dir: Path,
                  on_done: Callable[[Outcome], None] | None = None,
                  data: bytes | None = None, folder: Path | None = None) -> list[Outcome]:
        """Build every source; results come back in the order of *sources*.

        *data*, when given, is the bytes of the one source (read from a pipe); *folder*, the
        working folder to build in (else this process's).
        """
        return self._run([(_build_one, (source, output_dir, self.options, data, folder), source)
                          for source in sources], on_done)

    def render(self, source: Path, data: bytes | None) -> Rendered | Failure:
        """One article's editions in memory, and its warnings; nothing is written."""
        result: Rendered | Failure = self._run(
            [(_render_one, (source, data, self.options), source)], None)[0]
        return result

    def build_book(self, sources: Sequence[Path], output_dir: Path, title: str | None,
                   book_file: Path | None) -> Outcome:
        """Bind *sources* into one book (see :func:`exporter.pipeline.build_book`), in a worker."""
        anchor = book_file or (sources[0] if sources else Path("book"))
        arguments = (list(sources), output_dir, title, book_file, self.options)
        outcome: Outcome = self._run([(_build_book, arguments, anchor)], None)[0]
        return outcome

    def _run(self, tasks: list[Task], on_done: Callable[[Outcome], None] | None) -> list[Any]:
        from multiprocessing.connection import wait

        pending = deque(enumerate(tasks))
        busy: list[_Worker] = []
        results: dict[int, Any] = {}

        def finish(worker: _Worker, outcome: Any, keep: bool) -> None:
            assert worker.busy is not None
            results[worker.busy[0]] = outcome
            worker.busy = None
            busy.remove(worker)
            (self._idle.append if keep else self._stop)(worker)
            if on_done:
                on_done(outcome)

        try:
            while pending or busy:
                while pending and len(busy) < self.jobs:
                    index, (function, arguments, source) = pending.popleft()
                    worker = self._ready_worker()
                    worker.connection.send((function, arguments))
                    ends = time.monotonic() + self.timeout if self.timeout else None
                    worker.busy = (index, source, ends)
                    busy.append(worker)
                deadlines = [w.busy[2] for w in busy if w.busy and w.busy[2] is not None]
                left = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready = wait([worker.connection for worker in busy], timeout=left)
                for worker in [w for w in busy if w.connection in ready]:
                    source = worker.busy[1] if worker.busy else Path()
                    try:
                        outcome, keep = _outcome(worker.connection.recv(), source), True
                    except (EOFError, OSError):  # it died: report it, never hide it
                        worker.process.join()
                        outcome, keep = Failure(source, RenderError(
                            "the worker building it stopped unexpectedly (exit code "
                            f"{worker.process.exitcode})", path=source)), False
                    except Exception as error:  # a reply that cannot be read back
                        outcome, keep = Failure(source, InternalError(
                            f"internal error: the worker's reply could not be read: {error}",
                            path=source)), False
                    finish(worker, outcome, keep)
                now = time.monotonic()
                for worker in [w for w in busy if w.busy and w.busy[2] is not None
                               and w.busy[2] <= now]:
                    source = worker.busy[1] if worker.busy else Path()
                    finish(worker, Failure(source, RenderError(
                        f"took longer than {self.timeout:g} s; stopped, nothing written",
                        path=source)), keep=False)
        finally:
            for worker in busy:  # (interrupted: nothing they would write is wanted)
                self._stop(worker)
        return [results[index] for index in range(len(tasks))]

    def _ready_worker(self) -> _Worker:
        """An idle worker that is still alive (one may have been killed meanwhile), or a new one."""
        while self._idle:
            worker = self._idle.pop()
            if worker.process.is_alive():
                return worker
            self._stop(worker)
        return self._start()

    def _start(self) -> _Worker:
        from multiprocessing import get_context

        # Fork: a worker starts with the parent's imports, and never reads the environment anew.
        context = get_context("fork")
        with _STARTING:
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, [ours, *_PARENT_ENDS]),
                                      daemon=True)
            process.start()
            theirs.close()
            _PARENT_ENDS.append(ours)
        return _Worker(process, ours)

    def _stop(self, worker: _Worker) -> None:
        """End a worker now: SIGTERM, which it holds off only while it renames files into place."""
        if worker.process.is_alive():
            worker.process.terminate()
            worker.process.join(10)
            if worker.process.is_alive():
                worker.process.kill()
        worker.process.join()
        _forget(worker)


def _stop_idle(idle: list[_Worker]) -> None:
    """Stop the idle workers of a pool: each is told to end, and waited for."""
    while idle:
        worker = idle.pop()
        with contextlib.suppress(OSError):
            worker.connection.send(None)  # (the worker ends when told, or when the pipe does)
        worker.process.join()
        _forget(worker)


def _forget(worker: _Worker) -> None:
    """Close the parent's end of a stopped worker's pipe."""
    with _STARTING:
        _PARENT_ENDS.remove(worker.connection)
        worker.connection.close()


def _outcome(reply: tuple[str, Any, str], source: Path) -> Any:
    """What a worker's reply says: its task's result, or a fault of the tool with its traceback."""
    kind, value, details = reply
    if kind == "done":
        return value
    return Failure(source, InternalError(f"internal error: {value} (run with --debug for details)",
                                         path=source, details=details))


def _serve(connection: Connection, parents_ends: list[Connection]) -> None:
    """A worker's life: build what the parent sends, in one session, until told to stop."""
    for end in parents_ends:
        end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    # Stopped at once, even inside C code, where a handler of the parent's would wait.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    session = Session()
    while True:
        try:
            message = connection.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        function, arguments = message
        try:
            reply: tuple[str, Any, str] = ("done", function(session, *arguments), "")
        except Exception as error:  # a fault of ours: the parent reports it
            reply = ("fault", f"{type(error).__name__}: {error}", traceback.format_exc())
        try:
            try:
                connection.send(reply)
            except (pickle.PicklingError, TypeError, AttributeError) as error:
                connection.send(("fault", f"unsendable result: {error}", traceback.format_exc()))
        except OSError:  # the parent is gone
            return


def build_article(source: Path, output_dir: Path, options: Options, timeout: float | None,
                  folder: Path) -> Outcome:
    """Build one article and write its editions, as a task of an executor's (see :func:`build_on`).

    It builds in a worker process that this process starts and keeps, in *folder* (the caller's
    working folder, at the same path here), stopped after *timeout* seconds as a local batch's is.
    """
    if multiprocessing.current_process().daemon:
        return Failure(source, ExecutorError(
            "not built: the executor's process is a daemon, which may start no process to build "
            "in and stop on time (Dask's nanny makes its workers daemons: start them with "
            "'dask worker --no-nanny', or set DASK_DISTRIBUTED__WORKER__DAEMON=False)",
            path=source))
    pool = getattr(_here, "pool", None)
    if pool is None or (pool.options, pool.timeout) != (options, timeout or None):
        if pool is not None:
            pool.close()
        pool = _here.pool = Workers(1, options, timeout)
        # Its worker ends with the thread (an executor's thread-local pool is then dropped).
        weakref.finalize(pool, _stop_idle, pool._idle)
    return pool.build_all([source], output_dir, folder=folder)[0]


def build_on(executor: Executor, sources: Sequence[Path], output_dir: Path, options: Options,
             timeout: float | None = None, on_done: Callable[[Outcome], None] | None = None,
             alive: Callable[[], bool] | None = None) -> list[Outcome]:
    """Build every source as a task of *executor*; results come back in the order of *sources*.

    A task that gives no result (the executor lost its scheduler, or a process) is a
    :class:`Failure` with an :class:`ExecutorError`; the others go on.  *alive*, asked every
    second while no task ends, tells whether the executor still serves: when it does not,
    the tasks not done are given up (a Dask future can otherwise wait for ever).  When this
    ends early (Ctrl-C), the tasks not yet begun are cancelled.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    folder = Path.cwd()
    futures = {executor.submit(build_article, source, output_dir, options, timeout, folder): index
               for index, source in enumerate(sources)}
    results: dict[int, Outcome] = {}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, 1 if alive else None, return_when=FIRST_COMPLETED)
            if not done and alive is not None and not alive():
                done, pending = pending, set()  # (given up: never to be answered)
            for future in done:
                index = futures[future]
                try:
                    results[index] = future.result(timeout=0)
                except Exception as error:  # (a cancelled task's CancelledError too)
                    why = "it stopped serving" if not future.done() else \
                        f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                    results[index] = Failure(sources[index], ExecutorError(
                        f"not built: the executor gave no result ({why})", path=sources[index]))
                if on_done:
                    on_done(results[index])
    finally:
        for future in futures:
            future.cancel()
    return [results[index] for index in range(len(sources))]


def _build_one(session: Session, source: Path, output_dir: Path, options: Options,
               data: bytes | None, folder: Path | None = None) -> Outcome:
    if folder is not None:
        try:
            os.chdir(folder)
        except OSError as error:
            return Failure(source, ExecutorError(
                f"not built: the working folder {folder} cannot be entered on this machine "
                f"({reason(error)}); sources and outputs must be at the same path everywhere",
                path=source))
    try:
        return build(source, output_dir, options=options, data=data, session=session)
    except ExporterError as error:
        return Failure(source, error)


def _render_one(session: Session, source: Path, data: bytes | None,
                options: Options) -> Rendered | Failure:
    try:
        return render_source(source, options, data=data, session=session)
    except ExporterError as error:
        return Failure(source, error)


def _build_book(session: Session, sources: list[Path], output_dir: Path, title: str | None,
                book_file: Path | None, options: Options) -> Outcome:
    try:
        return build_book(sources, output_dir, title=title, book_file=book_file, options=options,
                          session=session)
    except ExporterError as error:
        return Failure(book_file or sources[0], error)
