"""The build server's wire format: requests with descriptors, refusals, and reply lines."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from exporter import wire


def test_a_request_arrives_whole_with_its_descriptors() -> None:
    ours, theirs = socket.socketpair()
    read_end, write_end = os.pipe()
    request = {"argv": ["build", "ä.md", "undecodable-\udcff"], "env": {"X": "y" * 100_000},
               "umask": 0o22, "cpus": None, "limits": {"RLIMIT_AS": (-1, -1)}}
    try:
        wire.send(ours, request, [write_end])
        received, fds = wire.receive(theirs)
        assert received == request
        assert len(fds) == 1
        os.write(fds[0], b"through the passed descriptor")
        os.close(fds[0])
        assert os.read(read_end, 100) == b"through the passed descriptor"
    finally:
        for fd in (read_end, write_end):
            os.close(fd)
        ours.close()
        theirs.close()


def _refused(message: bytes, *, then_hang_up: bool = False) -> None:
    """Send *message* raw; the reader must refuse it with ValueError."""
    ours, theirs = socket.socketpair()
    try:
        ours.sendall(message)
        if then_hang_up:
            ours.shutdown(socket.SHUT_WR)
        with pytest.raises(ValueError):
            wire.receive(theirs)
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize("payload", [
    b"\x00not a literal", b"\xe9" * 20, b"[1, 2]", b"[" * 100_000 + b"]" * 100_000,
    b"(" + b"\xff\xff\xff\x7f",  # a marshalled tuple of 2**31 entries: nothing is built
])
def test_what_is_not_a_dict_literal_is_refused(payload: bytes) -> None:
    _refused(len(payload).to_bytes(8, "big") + payload)


def test_a_request_runs_no_code(tmp_path: Path) -> None:
    witness = tmp_path / "ran"
    payload = f"__import__('pathlib').Path({str(witness)!r}).touch()".encode()
    _refused(len(payload).to_bytes(8, "big") + payload)
    assert not witness.exists()


def test_a_request_over_the_limit_or_cut_short_is_refused() -> None:
    _refused((wire.REQUEST_LIMIT + 1).to_bytes(8, "big"), then_hang_up=True)
    _refused((100).to_bytes(8, "big") + b"{", then_hang_up=True)


def test_reply_lines_are_read_back_and_others_refused() -> None:
    assert wire.reply_line("exit", 130) == b"exit 130\n"
    assert wire.read_reply(wire.reply_line("pid", 4242), "pid") == 4242
    for line in (b"", b"exit 1\n", b'{"pid": 1}\n', b"pid x\n"):
        with pytest.raises(ValueError):
            wire.read_reply(line, "pid")
