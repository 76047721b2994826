"""The build server: one warm interpreter that forks a fresh process for each ``exporter build``.

Importing WeasyPrint, ebooklib and Python-Markdown, and parsing the bundled
stylesheets and fonts, takes longer than building an article.  The server
does all of that once, then waits on a Unix socket in a private folder
(see :mod:`exporter.launch`).  For each request it forks: the child takes
the client's standard streams, working folder, umask and environment, runs
the ordinary command line in its own process group, sends its exit status
back over a channel of its own, and exits; the server passes the status on
at once, without waiting for the process to be torn down (a few
milliseconds for a process this size), and collects the process after.  So
every build is as isolated as a fresh process, but starts warm.  While
idle, the server keeps one *spare* fork that has built a small article of
its own, so the next build also skips the fork and most of the copying of
memory pages that follows one (see :mod:`exporter.served`).  Only the same
user may connect; the server exits after a quiet spell, or when asked
(``exporter server stop``).

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
import time
from collections.abc import Callable
from typing import Any

from . import launch, served, wire

#: Longest a connecting client may take to send its request, in seconds.
REQUEST_TIMEOUT = 2.0


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
        Server(listener, socket_path, lock, idle, expected).run()
    finally:
        Server.close_listener(listener, socket_path)
        os.close(lock)  # only now may another server start
    return 0


def warm_up() -> None:
    """Import everything a build uses and build a small article in each style, then freeze."""
    from .cli import cli  # noqa: F401  (imports the commands)
    from .options import STYLES

    served.warm_build(STYLES)
    # Objects made so far live for good: keep the collector from touching (and so copying)
    # their pages in every forked build.
    gc.collect()
    gc.freeze()
    launch.tune_collector()


class Spare:
    """A forked process that warms up, then waits on *channel* for one request."""

    def __init__(self, pid: int, pidfd: int, channel: socket.socket):
        self.pid, self.pidfd, self.channel = pid, pidfd, channel
        self.ready = False


class Build:
    """A running build: its process, its client, and the channel it sends its exit status on."""

    def __init__(self, pidfd: int, conn: socket.socket | None, channel: socket.socket):
        self.pidfd, self.conn, self.channel = pidfd, conn, channel


class Server:
    """The accept loop: hand each request to a spare or a new fork, report exit statuses."""

    def __init__(self, listener: socket.socket, socket_path: str, lock: int, idle: float,
                 tool: str):
        self.listener, self.socket_path, self.lock, self.idle = listener, socket_path, lock, idle
        self.tool = tool  # this installation's fingerprint, checked at start
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, ("accept", 0))
        # A signal (SIGTERM) writes a byte here, so a waiting select() returns at once.
        self.wake, self.wake_signal = socket.socketpair()
        self.wake_signal.setblocking(False)
        self.selector.register(self.wake, selectors.EVENT_READ, ("wake", 0))
        #: Running builds by pid (until their process is collected).
        self.builds: dict[int, Build] = {}
        self.spare: Spare | None = None
        self.stopping = False
        #: Builds started since the server began.
        self.served = 0
        self.last_activity = time.monotonic()

    def run(self) -> None:
        """Serve requests until idle for the set time, or stopped and all builds are done."""
        signal.signal(signal.SIGTERM, self._stop_signal)
        signal.set_wakeup_fd(self.wake_signal.fileno())
        self._new_spare()
        handlers: dict[str, Callable[[int], None]] = {
            "accept": lambda _: self._accept(), "done": self._finish,
            "status": self._report, "client": self._client_left, "spare-ready": self._spare_ready,
            "spare-gone": self._spare_gone, "wake": lambda _: self._woken()}
        while self.builds or not self.stopping:
            timeout = None if self.builds else self.last_activity + self.idle - time.monotonic()
            if timeout is not None and timeout <= 0:
                break
            for key, _ in self.selector.select(timeout):
                kind, pid = key.data
                handlers[kind](pid)
        self._drop_spare()

    def _stop_signal(self, number: int, frame: object) -> None:
        self._stop()

    def _woken(self) -> None:
        with contextlib.suppress(OSError):
            self.wake.recv(64)

    def _stop(self) -> None:
        """Take no more builds: new commands find no socket and build by themselves."""
        if not self.stopping:
            self.stopping = True
            self.selector.unregister(self.listener)
            self.close_listener(self.listener, self.socket_path)
            self._drop_spare()

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
            request, fds = wire.receive(conn)
        except (OSError, ValueError):
            _close_all(fds)
            conn.close()
            return
        if "query" in request:
            self._answer(conn, str(request["query"]))
            return
        if len(fds) != 3:
            _close_all(fds)
            conn.close()
            return
        try:
            pid = self._hand_over(conn, request, fds)
        except OSError:  # no fork (memory, process limit): the command builds by itself
            _close_all(fds)
            conn.close()
            return
        self._started(pid, conn)

    def _answer(self, conn: socket.socket, query: str) -> None:
        """Reply to ``status`` or ``stop`` (which lets running builds finish first)."""
        if query == "stop":
            self._stop()
        spare = "none" if self.spare is None else "ready" if self.spare.ready else "warming"
        # (A build that has sent its status is done, though its process may still be ending.)
        running = sum(1 for build in self.builds.values() if build.conn is not None)
        reply = {"pid": os.getpid(), "served": self.served, "running": running,
                 "idle_seconds": self.idle, "stopping": self.stopping, "spare": spare}
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps(reply).encode() + b"\n")
        conn.close()

    def _hand_over(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> int:
        """Give the request to the warm spare if there is one, else to a new fork; its pid."""
        spare = self.spare
        if spare is not None and spare.ready:
            self.spare = None
            try:
                wire.send(spare.channel, request, fds)
            except OSError:  # the spare is broken: end it for good, then fork as usual
                _kill_group(spare.pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.kill(spare.pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(spare.pid, 0)
                self._forget(spare)
            else:
                # The spare sends its exit status on the channel it was given work on.
                self.selector.modify(spare.pidfd, selectors.EVENT_READ, ("done", spare.pid))
                self._running(spare.pid, Build(spare.pidfd, conn, spare.channel))
                _close_all(fds)
                return spare.pid
        pid, channel = wire.fork_with_channel()
        if pid == 0:  # the build
            self._in_child(lambda: served.run_build(request, fds, self.tool), conn, channel)
        # Its own process group from the start (it sets one too), so that an interrupt the
        # client passes on at once is not lost.
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        _close_all(fds)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # (out of descriptors) it cannot be watched: stop it, build elsewhere
            _kill_group(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            channel.close()
            raise
        self.selector.register(pidfd, selectors.EVENT_READ, ("done", pid))
        self._running(pid, Build(pidfd, conn, channel))
        return pid

    def _running(self, pid: int, build: Build) -> None:
        self.builds[pid] = build
        self.selector.register(build.channel, selectors.EVENT_READ, ("status", pid))

    def _started(self, pid: int, conn: socket.socket) -> None:
        self.served += 1
        self.last_activity = time.monotonic()  # (status queries do not count as work)
        try:
            conn.sendall(wire.reply_line("pid", pid))
            conn.settimeout(None)
            self.selector.register(conn, selectors.EVENT_READ, ("client", pid))
        except OSError:
            _kill_group(pid)

    def _in_child(self, work: Any, conn: socket.socket | None, status: socket.socket) -> None:
        """In a fork: drop the server's sockets, lock and others' handles, do *work*, exit.

        The exit status goes to the server on *status* first, after the client's streams
        are closed: the client hears it as soon as the work is done.
        """
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the server's own handler
            signal.set_wakeup_fd(-1)
            self.wake.close()
            self.wake_signal.close()
            self.selector.close()
            self.listener.close()
            os.close(self.lock)
            if conn is not None:
                conn.close()
            for build in self.builds.values():
                os.close(build.pidfd)
                build.channel.close()
                if build.conn is not None:
                    build.conn.close()
            if self.spare is not None:
                os.close(self.spare.pidfd)
                self.spare.channel.close()
            code = work()
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            # Nothing may stop this process now but os._exit: an interrupt the client passes
            # on at this point would otherwise unwind into a copy of the server's loop.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
            with contextlib.suppress(BaseException):
                _report_exit(code, status)
            os._exit(code)

    def _new_spare(self) -> None:
        """Fork a spare, unless there is one, builds are running, or the server is stopping."""
        if self.spare is not None or self.builds or self.stopping:
            return
        try:
            pid, channel = wire.fork_with_channel()
        except OSError:
            return
        if pid == 0:
            self._in_child(lambda: served.wait_as_spare(channel, self.tool), None, channel)
        self.spare = Spare(pid, os.pidfd_open(pid), channel)
        self.selector.register(self.spare.pidfd, selectors.EVENT_READ, ("spare-gone", pid))
        self.selector.register(channel, selectors.EVENT_READ, ("spare-ready", pid))

    def _spare_ready(self, pid: int) -> None:
        spare = self.spare
        if spare is None or spare.pid != pid:
            return
        self.selector.unregister(spare.channel)
        try:
            spare.ready = spare.channel.recv(1) == served.READY
        except OSError:
            spare.ready = False

    def _spare_gone(self, pid: int) -> None:
        """The spare exited before it was given work (it failed to warm up): drop it."""
        if self.spare is not None and self.spare.pid == pid:
            self._forget(self.spare)
            self.spare = None

    def _forget(self, spare: Spare) -> None:
        for item in (spare.pidfd, spare.channel):
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(item)
        spare.channel.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(spare.pid, os.WNOHANG)
        os.close(spare.pidfd)

    def _drop_spare(self) -> None:
        if self.spare is not None:
            with contextlib.suppress(OSError):
                os.kill(self.spare.pid, signal.SIGTERM)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.spare.pid, 0)
            self._forget(self.spare)
            self.spare = None

    def _report(self, pid: int) -> None:
        """A build sent its exit status: pass it on to its client now."""
        build = self.builds.get(pid)
        if build is None:
            return  # collected in the same round of events
        code = self._sent_status(build)
        if code is not None:
            self._tell_client(build, code)
        # Else it ended without a word (killed): the status comes when it is collected.

    def _sent_status(self, build: Build) -> int | None:
        """The exit status *build* sent on its channel, if it sent one; the channel is closed."""
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(build.channel)
        try:
            build.channel.setblocking(False)
            data = build.channel.recv(16)
        except OSError:
            data = b""
        build.channel.close()
        return int(data) if data.strip().isdigit() else None

    def _finish(self, pid: int) -> None:
        """A build's process ended: collect it, and tell its client if it has not been told."""
        build = self.builds.pop(pid)
        self.selector.unregister(build.pidfd)
        os.close(build.pidfd)
        # A status it sent counts, even if it was killed afterwards, while ending.
        sent = self._sent_status(build)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            code = 128 - code  # killed by a signal, reported as a shell would
        self._tell_client(build, code if sent is None else sent)
        self.last_activity = time.monotonic()
        self._new_spare()  # now that the machine is free again

    def _tell_client(self, build: Build, code: int) -> None:
        conn, build.conn = build.conn, None
        if conn is None:
            return  # told already
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        with contextlib.suppress(OSError):
            conn.sendall(wire.reply_line("exit", code))
        conn.close()

    def _client_left(self, pid: int) -> None:
        """The client hung up (or spoke out of turn) while its build ran: interrupt the build.

        An interrupt, as Ctrl-C would be, so the build removes its unfinished files.
        """
        build = self.builds.get(pid)
        if build is None or build.conn is None:
            return  # it finished (or reported) in the same round of events
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(build.conn)
        _kill_group(pid, signal.SIGINT)


def _peer_uid(conn: socket.socket) -> int:
    credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", credentials)[1])


def _report_exit(code: int, status: socket.socket) -> None:
    """Close the client's streams (so its pipes see the end), then send *code* on *status*."""
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(OSError):
        status.sendall(str(code).encode())
        status.close()


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _kill_group(pid: int, number: int = signal.SIGTERM) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, number)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
