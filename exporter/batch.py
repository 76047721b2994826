"""Build articles in worker processes, each with one warm :class:`~exporter.session.Session`.

An article that overruns its time is stopped by killing its worker (which holds even inside C code);
a failing, overlong or crashed article is a :class:`~exporter.pipeline.Failure` and the others go on.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ExecutorError, ExporterError, InternalError, RenderError, reason
from .options import Options
from .pipeline import BuildResult, Failure, build
from .session import Session

if TYPE_CHECKING:
    from concurrent.futures import Executor
    from multiprocessing.connection import Connection

Outcome = BuildResult | Failure
#: A task for a worker: a function, its keyword arguments but the session, and the source it builds.
Task = tuple[Callable[..., Any], dict[str, Any], Path]

#: The parent's ends of the pipes of its workers: each new worker closes them all, so that it sees
#: the parent go.
_PARENT_ENDS: list[Connection] = []
_STARTING = threading.Lock()
_here = threading.local()  # per thread of an executor: the pool build_article builds in


def default_jobs() -> int:
    """Worker processes by default: the CPUs this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class _Worker:
    """A worker process, the parent's end of its pipe, and its task (place, source, deadline)."""

    def __init__(self, folder: str) -> None:
        context = multiprocessing.get_context("fork")  # (it starts with the parent's imports)
        with _STARTING:
            self.connection, theirs = context.Pipe()
            self.process = context.Process(target=_serve, daemon=True,
                                           args=(theirs, [self.connection, *_PARENT_ENDS], folder))
            self.process.start()
            theirs.close()
            _PARENT_ENDS.append(self.connection)
        self.task: tuple[int, Path, float] = (0, Path(), math.inf)

    def stop(self, now: bool = True) -> None:
        """End the worker: *now* by SIGTERM (held off only while it renames files), else when told."""
        if not now:
            with contextlib.suppress(OSError):
                self.connection.send(None)
        elif self.process.is_alive():
            self.process.terminate()
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()
        self.process.join()
        with _STARTING:
            _PARENT_ENDS.remove(self.connection)
            self.connection.close()

    def reply(self) -> tuple[Any, bool]:
        """The outcome of its task, and whether the worker may build again."""
        source = self.task[1]
        try:
            kind, value, details = self.connection.recv()
        except (EOFError, OSError):  # it died
            self.process.join()
            return Failure(source, RenderError(
                f"the worker building it stopped unexpectedly (exit code {self.process.exitcode})",
                path=source)), False
        except Exception as error:
            return Failure(source, InternalError(
                f"internal error: the worker's reply could not be read: {error}", path=source)), False
        if kind == "fault":
            value = InternalError(f"internal error: {value} (run with --debug for details)",
                                  path=source, details=details)
        return (value if kind == "done" else Failure(source, value)), True


class Workers:
    """Up to *jobs* worker processes that build articles, each within *timeout* seconds.

    They start on first use and stay until :meth:`close` (``--watch`` rebuilds in warm ones). Their
    temporary files (WeasyPrint's copies of fonts) go in one folder that closing removes.
    """

    def __init__(self, jobs: int, options: Options, timeout: float | None):
        self.jobs, self.options, self.timeout = max(1, jobs), options, timeout or None
        self._idle: list[_Worker] = []
        self._folders: list[str] = []  # the temporary folder, made with the first worker

    def close(self) -> None:
        """Stop the idle workers (busy ones are stopped as :meth:`_run` leaves); remove their files."""
        _stop_idle(self._idle, self._folders)

    def build_all(self, sources: Sequence[Path], output_dir: Path,
                  on_done: Callable[[Outcome], None] | None = None,
                  data: bytes | None = None, folder: Path | None = None) -> list[Outcome]:
        """Build every source, in order: *data* is a piped source's bytes, *folder* where to build."""
        arguments = {"output_dir": output_dir, "options": self.options, "data": data, "folder": folder}
        return self._run([(_build_in, {"source": source, **arguments}, source)
                          for source in sources], on_done)

    def run(self, function: Callable[..., Any], source: Path, /, **arguments: Any) -> Any:
        """``function(**arguments, session=...)`` in a worker: its result, or a Failure of *source*."""
        return self._run([(function, arguments, source)])[0]

    def run_each(self, function: Callable[..., Any], sources: Sequence[Path]) -> list[Any]:
        """``function(source=..., session=...)`` for every source, *jobs* at once: the results in
        order, a Failure of a source whose worker died."""
        return self._run([(function, {"source": source}, source) for source in sources])

    def _run(self, tasks: list[Task], on_done: Callable[[Outcome], None] | None = None) -> list[Any]:
        from multiprocessing.connection import wait

        pending = deque(enumerate(tasks))
        busy: list[_Worker] = []
        results: dict[int, Any] = {}
        try:
            while pending or busy:
                while pending and len(busy) < self.jobs:
                    index, (function, arguments, source) = pending.popleft()
                    worker = self._ready_worker()
                    worker.connection.send((function, arguments))
                    worker.task = (index, source, time.monotonic() + (self.timeout or math.inf))
                    busy.append(worker)
                left = min(worker.task[2] for worker in busy) - time.monotonic()
                ready = wait([worker.connection for worker in busy],
                             None if left == math.inf else max(0.0, left))
                now = time.monotonic()
                for worker in list(busy):
                    index, source, deadline = worker.task
                    if worker.connection in ready:
                        outcome, keep = worker.reply()
                    elif deadline <= now:
                        outcome, keep = Failure(source, RenderError(
                            f"took longer than {self.timeout:g} s; stopped, nothing written",
                            path=source)), False
                    else:
                        continue
                    results[index] = outcome
                    busy.remove(worker)
                    if keep:
                        self._idle.append(worker)
                    else:
                        worker.stop()
                    if on_done:
                        on_done(outcome)
        finally:
            for worker in busy:  # (interrupted)
                worker.stop()
        return [results[index] for index in range(len(tasks))]

    def _ready_worker(self) -> _Worker:
        """An idle worker that is still alive, or a new one."""
        while self._idle:
            worker = self._idle.pop()
            if worker.process.is_alive():
                return worker
            worker.stop()
        if not self._folders:
            self._folders.append(tempfile.mkdtemp(prefix="exporter-"))
        return _Worker(self._folders[0])


def _stop_idle(idle: list[_Worker], folders: list[str]) -> None:
    """Tell each idle worker of a pool to end, wait for it, and remove the pool's temporary files."""
    while idle:
        idle.pop().stop(now=False)
    while folders:
        shutil.rmtree(folders.pop(), ignore_errors=True)


def _serve(connection: Connection, parents_ends: list[Connection], folder: str) -> None:
    """A worker's life: run what the parent sends, in one session, until told to stop."""
    for end in parents_ends:
        end.close()
    tempfile.tempdir = folder  # (the pool's folder, removed when the pool closes)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    for number in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
        signal.signal(number, signal.SIG_DFL)  # stopped at once, even inside C code
    session = Session()
    with contextlib.suppress(EOFError, OSError):  # (the parent is gone)
        while (message := connection.recv()) is not None:
            function, arguments = message
            try:
                reply: tuple[str, Any, str] = ("done", function(**arguments, session=session), "")
            except ExporterError as error:
                reply = ("failed", error, "")
            except Exception as error:  # a fault of ours: the parent reports it
                reply = ("fault", f"{type(error).__name__}: {error}", traceback.format_exc())
            try:
                connection.send(reply)
            except (pickle.PicklingError, TypeError, AttributeError) as error:
                connection.send(("fault", f"unsendable result: {error}", traceback.format_exc()))


def build_article(source: Path, output_dir: Path, options: Options, timeout: float | None,
                  folder: Path) -> Outcome:
    """Build one article as a task of an executor (:func:`build_on`), in a worker process of this
    one's, in *folder* (the caller's working folder), within *timeout* seconds."""
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
        weakref.finalize(pool, _stop_idle, pool._idle, pool._folders)  # (ends with the thread)
    return pool.build_all([source], output_dir, folder=folder)[0]


def build_on(executor: Executor, sources: Sequence[Path], output_dir: Path, options: Options,
             timeout: float | None = None, on_done: Callable[[Outcome], None] | None = None,
             alive: Callable[[], bool] | None = None) -> list[Outcome]:
    """Build every source as a task of *executor*, in order; a task without result is a Failure.

    *alive*, asked every second while no task ends, says whether the executor still serves (a Dask
    future can otherwise wait for ever). Tasks not begun are cancelled when this ends (Ctrl-C).
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


def _build_in(folder: Path | None, session: Session, **arguments: Any) -> Outcome:
    """:func:`exporter.pipeline.build` in *folder* (the caller's working folder), if given."""
    if folder is not None:
        try:
            os.chdir(folder)
        except OSError as error:
            source = arguments["source"]
            return Failure(source, ExecutorError(
                f"not built: the working folder {folder} cannot be entered on this machine "
                f"({reason(error)}); sources and outputs must be at the same path everywhere",
                path=source))
    return build(**arguments, session=session)
