"""The build server's wire format: an 8-byte length, a JSON object, and file descriptors.

Shared by the command (:mod:`exporter.client`), the server and the spare it
forks; standard library only, so the command stays quick to start.
"""

from __future__ import annotations

import json
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
    request = json.loads(body[:length])
    if not isinstance(request, dict):
        raise ValueError("request is not an object")
    return request, list(fds)


def send(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """Send a request as :func:`receive` reads it; the descriptors go with the first bytes."""
    payload = json.dumps(request).encode()
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
