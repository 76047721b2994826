"""The build server's wire format: an 8-byte length, a marshalled dict, and file descriptors.

Shared by the command (:mod:`exporter.client`), the server and the spare it
forks; standard library only, so the command stays quick to start.
:mod:`marshal` is built into the interpreter, where importing :mod:`json`
would cost the command about 2 ms at every start; both ends are the same
installation on the same interpreter (the server's name is its fingerprint),
and the server reads only what processes of its own user send (checked on
connect), as marshal is not meant for data from strangers.  Replies are
lines of ASCII: ``pid N``, then ``exit N``.
"""

from __future__ import annotations

import marshal
import socket
from typing import Any

#: Largest request accepted (arguments, folder and environment as JSON), in bytes.
REQUEST_LIMIT = 4 * 1024 * 1024


def receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One request: an 8-byte length, the JSON, and any file descriptors sent with it."""
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
        request = marshal.loads(body[:length])
    except (EOFError, TypeError) as error:
        raise ValueError(f"unreadable request: {error}") from None
    if not isinstance(request, dict):
        raise ValueError("request is not an object")
    return request, list(fds)


def send(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """Send a request as :func:`receive` reads it; the descriptors go with the first bytes."""
    payload = marshal.dumps(request)
    message = len(payload).to_bytes(8, "big") + payload
    sent = socket.send_fds(conn, [message[:4096]], fds)
    if sent < len(message):
        # Only what is left: the reader may have read everything and closed by now.
        conn.sendall(message[sent:])


def _recv(conn: socket.socket) -> bytes:
    """More of a request; a peer that hangs up early is an error."""
    chunk = conn.recv(64 * 1024)
    if not chunk:
        raise ValueError("request cut short")
    return chunk


def reply_line(name: str, value: int) -> bytes:
    """One line of a reply: ``pid 1234`` or ``exit 0``."""
    return f"{name} {value}\n".encode("ascii")


def read_reply(line: bytes, name: str) -> int:
    """The number in a line :func:`reply_line` made; ValueError for anything else."""
    word, _, value = line.decode("ascii").partition(" ")
    if word != name:
        raise ValueError(f"expected {name!r}, got {line!r}")
    return int(value)
