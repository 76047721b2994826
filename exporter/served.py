"""What runs in a process forked from the build server: a spare waiting for work, and the build.

The build becomes the client's process: it takes the client's standard
streams (passed as file descriptors), working folder, umask and environment,
runs the ordinary command line in a process group of its own, and exits with
the command's status.  A spare is forked ahead of time and builds a small
article of its own first, so the pages a build writes are already its own
(copied from the server) when a request arrives; see :mod:`exporter.server`.
Its build has a second process to draw the EPUB's cover alongside
(:mod:`exporter.painter`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import painter, wire

#: What a spare sends the server once it is warm.
READY = b"r"

#: A small article that exercises every element the stylesheets style, for warm-up builds.
WARM_ARTICLE = """---
title: Warm-up
lang: en
date: 2000-01-01
---
Lead paragraph with *emphasis*, **strength**, `code` and a note.[^1]

## A section

- one
- two

| Name | Count |
|------|------:|
| a    | 1     |

## Another section

## A third section

[^1]: A footnote.
"""


def warm_build(styles: tuple[str, ...]) -> None:
    """Run ``exporter build`` on :data:`WARM_ARTICLE` in each of *styles*, all editions.

    The build goes through the command line, as a client's will: the option parsing,
    defaults lookup and command record it uses are then imported and warm too.  It runs
    in a scratch folder (no defaults file of the server's folder applies) and prints
    nothing.
    """
    import io

    from .cli import main

    with tempfile.TemporaryDirectory(prefix="exporter-warm-") as scratch, \
            contextlib.chdir(scratch), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        Path("warm.md").write_text(WARM_ARTICLE, encoding="utf-8")
        for style in styles:
            with contextlib.suppress(SystemExit):
                main(["build", "warm.md", "-o", style, "--style", style,
                      "-f", "html", "-f", "epub", "-f", "pdf"])


def wait_as_spare(channel: socket.socket, tool: str | None = None) -> int:
    """Fork a cover painter, warm up, tell the server, then run the request it sends.

    The painter (:mod:`exporter.painter`) is forked before either process warms up,
    so that each copies the pages it writes now, not while a build waits.  The
    status is 0 if the server sends no request.
    """
    os.setpgid(0, 0)
    try:
        helper: painter.Painter | None = painter.fork(keep_out=[channel])
    except OSError:
        helper = None  # covers are drawn in the build's own process
    warm_build(("classic",))
    painter.install(helper)
    channel.sendall(READY)
    try:
        request, fds = wire.receive(channel)
    except (OSError, ValueError):
        return 0  # the server closed the channel: no work for this spare
    return run_build(request, fds, tool)  # (the exit status goes back on the channel)


def run_build(request: dict[str, Any], fds: list[int], tool: str | None = None) -> int:
    """Become the client's process (streams, folder, umask, environment) and run its command."""
    with contextlib.suppress(OSError):  # the server may have made the group already
        os.setpgid(0, 0)
    _take_limits(request)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with _client_streams(request["env"]):
        try:
            os.chdir(request["cwd"])
        except OSError as error:
            print(f"Error: cannot enter the working folder {request['cwd']}: {error.strerror}",
                  file=sys.stderr)
            return 1
        os.umask(int(request["umask"]))
        return _run_command([str(arg) for arg in request["argv"]], tool)


def _take_limits(request: dict[str, Any]) -> None:
    """The client's CPUs, priority and resource limits, as far as this process may take them.

    A build started under ``taskset``, ``nice`` or ``ulimit`` keeps to them; the batch
    workers it starts count the CPUs it was given.  Limits above the server's own cannot
    be raised, and niceness only goes up: those stay as the server's.
    """
    import resource

    cpus = request.get("cpus")
    if cpus and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError, ValueError):
            os.sched_setaffinity(0, {int(cpu) for cpu in cpus})
    with contextlib.suppress(OSError, TypeError, ValueError):
        increment = int(request.get("nice", 0)) - os.nice(0)
        if increment > 0:
            os.nice(increment)
    for name, (soft, hard) in dict(request.get("limits") or {}).items():
        if hasattr(resource, name):
            with contextlib.suppress(OSError, ValueError):
                resource.setrlimit(getattr(resource, name), (int(soft), int(hard)))
    tempfile.tempdir = None  # found again from the client's TMPDIR


def _run_command(argv: list[str], tool: str | None) -> int:
    from .cli import main

    sys.argv = ["exporter", *argv]
    try:
        main(argv, tool)
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _client_streams(env: dict[str, str]) -> Iterator[None]:
    """Take the client's environment and make ``sys.std*`` fresh text streams on fds 0–2."""
    import io
    import locale

    os.environ.clear()
    os.environ.update({str(key): str(value) for key, value in env.items()})
    time.tzset()
    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_CTYPE, "")
    encoding = (os.environ.get("PYTHONIOENCODING", "").split(":")[0]
                or ("utf-8" if sys.flags.utf8_mode else locale.getpreferredencoding(False)))
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))

    def stream(fd: int, mode: str, errors: str, line: bool) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        buffered: Any = io.BufferedReader(raw) if mode == "rb" else io.BufferedWriter(raw)
        return io.TextIOWrapper(buffered, encoding=encoding, errors=errors, line_buffering=line,
                                write_through=unbuffered and mode == "wb")

    sys.stdin = stream(0, "rb", "strict", False)
    sys.stdout = stream(1, "wb", "strict", os.isatty(1))
    sys.stderr = stream(2, "wb", "backslashreplace", True)
    try:
        yield
    finally:
        for out in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                out.flush()


