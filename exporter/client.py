"""The client side of the build server: hand a command over, pass signals on, ask for status.

Imported only when a server is to be used, so an unchanged command, answered by
:mod:`exporter.memo`, never pays for sockets and signals.
"""

from __future__ import annotations

import _socket
import os
import sys

from .launch import TYPE_CHECKING, Address
from .wire import Lines, read_reply, send

if TYPE_CHECKING:
    import signal
else:  # the core that signal wraps in enums: the command need not import them
    import _signal as signal


def run_on_server(address: Address, argv: list[str]) -> int | None:
    """Run *argv* on the server at *address*; its exit status, or None when no server answered."""
    client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        client.connect(address.socket)
        send(client, _request(argv), [0, 1, 2])
        reply = Lines(client)
        first = reply.next()
    except OSError:
        client.close()
        return None
    try:
        pid = read_reply(first, "pid")
    except ValueError:  # nothing (no spare, no fork), or not a server of ours
        client.close()
        return None
    with _forwarding_signals(pid):
        last = reply.next()
    client.close()
    if not last:
        # The server went away mid-build (killed): the build is stopped with it.
        _signal_group(pid, signal.SIGTERM)
        print("Error: the build server stopped during the build; run the command again",
              file=sys.stderr)
        return 1
    return read_reply(last, "exit")


def _request(argv: list[str]) -> dict[str, object]:
    """What the build needs to become this process: arguments, folder, environment, limits."""
    import resource

    limits = {name: resource.getrlimit(getattr(resource, name)) for name in _LIMITS
              if hasattr(resource, name)}
    return {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "umask": _umask(),
            "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "nice": os.nice(0), "limits": limits}


#: Resource limits a build takes over from its command (memory, files, CPU time).
_LIMITS = ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_NOFILE", "RLIMIT_CPU", "RLIMIT_FSIZE")


def _umask() -> int:
    """This process's umask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class _forwarding_signals:
    """While waiting, pass interrupts (Ctrl-C), hang-ups and terminations on to the build."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self, pid: int):
        self.pid = pid
        self.previous: dict[int, object] = {}

    def __enter__(self) -> None:
        for number in self.SIGNALS:
            self.previous[number] = signal.signal(number, self._forward)

    def _forward(self, number: int, frame: object) -> None:
        _signal_group(self.pid, number)

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


def _signal_group(pid: int, number: int) -> None:
    try:  # noqa: SIM105  (contextlib would cost the command about 3 ms to import)
        os.killpg(pid, number)
    except OSError:  # (the build has ended)
        pass


def ask_server(address: Address, query: str) -> dict[str, object] | None:
    """Send ``status`` or ``stop`` to the server at *address*; its answer, or None if none listens."""
    import json

    client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        client.connect(address.socket)
        send(client, {"query": query}, [])
        answer = Lines(client).next()
    except OSError:
        return None
    finally:
        client.close()
    if not answer:
        return None
    reply = json.loads(answer)
    return reply if isinstance(reply, dict) else None
