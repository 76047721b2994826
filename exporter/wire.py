"""The build server's wire format: an 8-byte length, a Python literal, and file descriptors.

Shared by the command (:mod:`exporter.client`), the server and the spare it
forks; standard library only, so the command stays quick to start.  A
request is the :func:`repr` of a dict of strings, numbers, lists and tuples,
read back with :func:`ast.literal_eval`: the command writes it without
importing anything (:mod:`json` would cost it about 2 ms at every start),
and the reader builds nothing larger than the bytes it was sent and runs no
code, whatever it is sent.  Replies are lines of ASCII: ``pid N``, then
``exit N``.

The command's side needs only :mod:`_socket`, the core that :mod:`socket`
wraps: importing :mod:`socket` (its enums, :mod:`selectors`, :mod:`array`)
would cost it about 2 ms at every start.
"""

from __future__ import annotations

import _socket
import sys

TYPE_CHECKING = False  # (typing's, without importing typing at every start)
if TYPE_CHECKING:
    import socket
    from typing import Any

#: Largest request accepted (arguments, folder and environment), in bytes.
REQUEST_LIMIT = 4 * 1024 * 1024


def receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One request: an 8-byte length, the literal, and any file descriptors sent with it."""
    import ast
    import socket

    data, fds, _, _ = socket.recv_fds(conn, 64 * 1024, 3)
    if not data:
        raise ValueError("empty request")
    while len(data) < 8:
        data += _recv(conn)
    length = int.from_bytes(data[:8], "big")
    if length > REQUEST_LIMIT:
        raise ValueError("request too large")
    body = data[8:]
    while len(body) < length:
        body += _recv(conn)
    try:
        request = ast.literal_eval(body[:length].decode("utf-8"))
    except Exception as error:  # not text, not a literal, nested too deeply, ...
        raise ValueError(f"unreadable request: {type(error).__name__}") from None
    if not isinstance(request, dict):
        raise ValueError("request is not a dict")
    return request, list(fds)


def send(conn: _socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """Send a request as :func:`receive` reads it; the descriptors go with the first bytes."""
    # (repr escapes what UTF-8 cannot carry, such as the surrogates of undecodable bytes)
    payload = repr(request).encode("utf-8")
    message = len(payload).to_bytes(8, "big") + payload
    # (what socket.send_fds does: the descriptors as an array of C ints)
    rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
    sent = conn.sendmsg([message[:4096]], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
    if sent < len(message):
        # Only what is left: the reader may have read everything and closed by now.
        conn.sendall(message[sent:])


def _recv(conn: _socket.socket) -> bytes:
    """More of a request; a peer that hangs up early is an error."""
    chunk = conn.recv(64 * 1024)
    if not chunk:
        raise ValueError("request cut short")
    return chunk


def fork_with_channel() -> tuple[int, socket.socket]:
    """Fork, with a socket pair between the two processes; OSError if no fork.

    Returns ``(0, the child's end)`` in the child and ``(pid, the parent's end)`` in the
    parent (the server and its forks, and a build and its cover painter).
    """
    import os
    import socket

    ours, theirs = socket.socketpair()
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        raise
    if pid == 0:
        ours.close()
        return 0, theirs
    theirs.close()
    return pid, ours


def reply_line(name: str, value: int) -> bytes:
    """One line of a reply: ``pid 1234`` or ``exit 0``."""
    return f"{name} {value}\n".encode("ascii")


class Lines:
    """The lines of a reply, read from *conn* as they come (two may come in one piece)."""

    def __init__(self, conn: _socket.socket):
        self.conn, self.buffer = conn, b""

    def next(self) -> bytes:
        """The next line with its newline; what is left (maybe nothing) once the peer closes."""
        while b"\n" not in self.buffer:
            chunk = self.conn.recv(4096)
            if not chunk:
                rest, self.buffer = self.buffer, b""
                return rest
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"


def read_reply(line: bytes, name: str) -> int:
    """The number in a line :func:`reply_line` made; ValueError for anything else."""
    word, _, value = line.decode("ascii").partition(" ")
    if word != name:
        raise ValueError(f"expected {name!r}, got {line!r}")
    return int(value)
