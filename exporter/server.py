"""The build server: one warm interpreter that forks a fresh process for each ``exporter build``.

Importing WeasyPrint, ebooklib and Python-Markdown, and parsing the bundled
stylesheets and fonts, takes longer than building an article.  The server
does all of that once, then waits on a Unix socket in a private folder
(see :mod:`exporter.launch`).  For each request it forks: the child takes
the client's standard streams, working folder, umask and environment, runs
the ordinary command line in its own process group, and exits; the server
reports the exit status back.  So every build is as isolated as a fresh
process, but starts warm.  Only the same user may connect; the server exits
after a quiet spell, or when asked (``exporter server stop``).

Run as ``python -m exporter.server SOCKET LOCK FINGERPRINT IDLE_SECONDS``,
which :func:`exporter.launch.start_server` does.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import selectors
import signal
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import launch

#: Longest a connecting client may take to send its request, in seconds.
REQUEST_TIMEOUT = 5.0
#: Largest request accepted (arguments, folder and environment as JSON), in bytes.
REQUEST_LIMIT = 4 * 1024 * 1024

#: A small article that exercises every element the stylesheets style, for the warm-up build.
_WARM_ARTICLE = """---
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

[^1]: A footnote.
"""


def main(argv: list[str]) -> int:
    """Serve until idle: *argv* is socket path, lock path, expected fingerprint, idle seconds."""
    socket_path, lock_path, expected, idle = argv[0], argv[1], argv[2], float(argv[3])
    lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another server for this installation is starting or running
    if launch.fingerprint() != expected:
        return 0  # this interpreter finds another copy of the package: not ours to serve
    warm_up()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        listener.bind(socket_path)
    finally:
        os.umask(old_mask)
    listener.listen(32)
    try:
        Server(listener, socket_path, lock, idle).run()
    finally:
        Server.close_listener(listener, socket_path)
        os.close(lock)  # only now may another server start
    return 0


def warm_up() -> None:
    """Import everything a build uses and build a small article in each style, then freeze."""
    from .cli import cli  # noqa: F401  (imports the commands)
    from .options import STYLES, Options
    from .pipeline import build

    with tempfile.TemporaryDirectory(prefix="exporter-warm-") as scratch:
        source = Path(scratch) / "warm.md"
        source.write_text(_WARM_ARTICLE, encoding="utf-8")
        for style in STYLES:
            build(source, Path(scratch) / style, options=Options(style=style, reuse=False))
    # Objects made so far live for good: keep the collector from touching (and so copying)
    # their pages in every forked build.
    gc.collect()
    gc.freeze()
    launch.tune_collector()


class Server:
    """The accept loop: fork a build per request, report each exit status, exit when idle."""

    def __init__(self, listener: socket.socket, socket_path: str, lock: int, idle: float):
        self.listener, self.socket_path, self.lock, self.idle = listener, socket_path, lock, idle
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, "accept")
        #: Running builds: pid -> (pidfd, client connection).
        self.builds: dict[int, tuple[int, socket.socket]] = {}
        self.stopping = False
        #: Builds started since the server began.
        self.served = 0
        self.last_activity = time.monotonic()

    def run(self) -> None:
        """Serve requests until idle for the set time, or stopped and all builds are done."""
        signal.signal(signal.SIGTERM, self._stop_signal)
        while self.builds or not self.stopping:
            timeout = None if self.builds else self.last_activity + self.idle - time.monotonic()
            if timeout is not None and timeout <= 0:
                break
            for key, _ in self.selector.select(timeout):
                if key.data == "accept":
                    self._accept()
                else:
                    kind, pid = key.data
                    if kind == "done":
                        self._finish(pid)
                    else:
                        self._client_left(pid)

    def _stop_signal(self, number: int, frame: object) -> None:
        self._stop()

    def _stop(self) -> None:
        """Take no more builds: new commands find no socket and build by themselves."""
        if not self.stopping:
            self.stopping = True
            self.selector.unregister(self.listener)
            self.close_listener(self.listener, self.socket_path)

    @staticmethod
    def close_listener(listener: socket.socket, socket_path: str) -> None:
        """Remove the socket's name, then close it; clients still queued see it close."""
        if listener.fileno() == -1:
            return
        with contextlib.suppress(OSError):
            os.unlink(socket_path)  # safe: no other server can run while we hold the lock
        listener.close()

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        fds: list[int] = []
        try:
            conn.settimeout(REQUEST_TIMEOUT)
            if _peer_uid(conn) != os.getuid():
                conn.close()
                return
            request, fds = _receive(conn)
        except (OSError, ValueError):
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        if "query" in request:
            self._answer(conn, str(request["query"]))
            return
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        try:
            self._fork(conn, request, fds)
        except OSError:  # no fork (memory, process limit): the command builds by itself
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            conn.close()

    def _answer(self, conn: socket.socket, query: str) -> None:
        """Reply to ``status`` or ``stop`` (which lets running builds finish first)."""
        if query == "stop":
            self._stop()
        reply = {"pid": os.getpid(), "served": self.served, "running": len(self.builds),
                 "idle_seconds": self.idle, "stopping": self.stopping}
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps(reply).encode() + b"\n")
        conn.close()

    def _fork(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        pid = os.fork()
        if pid == 0:  # the build
            code = 1
            try:
                self._close_inherited(conn)
                code = run_build(request, fds)
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        self.served += 1
        self.last_activity = time.monotonic()  # (status queries do not count as work)
        pidfd = os.pidfd_open(pid)
        self.builds[pid] = (pidfd, conn)
        self.selector.register(pidfd, selectors.EVENT_READ, ("done", pid))
        try:
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            conn.settimeout(None)
            self.selector.register(conn, selectors.EVENT_READ, ("client", pid))
        except OSError:
            _kill_group(pid)

    def _close_inherited(self, conn: socket.socket) -> None:
        """In the forked build: drop the server's sockets, lock and other builds' handles."""
        self.selector.close()
        self.listener.close()
        os.close(self.lock)
        conn.close()
        for pidfd, other in self.builds.values():
            os.close(pidfd)
            other.close()

    def _finish(self, pid: int) -> None:
        pidfd, conn = self.builds.pop(pid)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            code = 128 - code  # killed by a signal, reported as a shell would
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
        conn.close()
        self.last_activity = time.monotonic()

    def _client_left(self, pid: int) -> None:
        """The client hung up (or spoke out of turn) while its build ran: interrupt the build.

        An interrupt, as Ctrl-C would be, so the build removes its unfinished files.
        """
        _, conn = self.builds[pid]
        self.selector.unregister(conn)
        _kill_group(pid, signal.SIGINT)


def _peer_uid(conn: socket.socket) -> int:
    credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", credentials)[1])


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One request: an 8-byte length, the JSON, and any file descriptors sent with it."""
    data, fds, _, _ = socket.recv_fds(conn, 64 * 1024, 3)
    if len(data) < 8 and not data:
        raise ValueError("empty request")
    while len(data) < 8:
        data += _recv(conn)
    length = int.from_bytes(data[:8], "big")
    if length > REQUEST_LIMIT:
        raise ValueError("request too large")
    body = data[8:]
    while len(body) < length:
        body += _recv(conn)
    request = json.loads(body[:length])
    if not isinstance(request, dict):
        raise ValueError("request is not an object")
    return request, list(fds)


def _recv(conn: socket.socket) -> bytes:
    chunk = conn.recv(64 * 1024)
    if not chunk:
        raise ValueError("request cut short")
    return chunk


def _kill_group(pid: int, number: int = signal.SIGTERM) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, number)


# --------------------------------------------------------------------------- in the forked build


def run_build(request: dict[str, Any], fds: list[int]) -> int:
    """Become the client's process (streams, folder, umask, environment) and run its command."""
    os.setpgid(0, 0)
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
        return _run_command([str(arg) for arg in request["argv"]])


def _run_command(argv: list[str]) -> int:
    from .cli import main

    sys.argv = ["exporter", *argv]
    try:
        main(argv)
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
