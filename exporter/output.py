"""Writing outputs so that nothing is ever half-written.

Each file is written to a temporary file beside its target, flushed to disk
and renamed into place: an interrupted build leaves the previous output.
Ctrl-C and ``kill`` (SIGTERM) are held off while a build's files are renamed,
so they leave the old set or the new set.  A build killed outright leaves its
temporary files, named after the process; the next build into that folder
removes those of processes that are gone.  Caches, which a crash may only make
a rebuild of, skip the flush to disk.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError, reason


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write *data* to *path* through a temporary file and a rename; see :func:`write_all_atomic`."""
    write_all_atomic([(path, data)], durable=durable)


def write_all_atomic(items: list[tuple[Path, bytes]], *, durable: bool = True) -> None:
    """Write several files so that either all are replaced or none is.

    Every file is first written in full beside its target; only then are they
    renamed into place, so a full disk or an error leaves the old outputs.  Unless
    *durable* is false (a cache), each is flushed to disk before its rename, so
    that a crash leaves the old file or the new one, never an empty one.
    """
    for path, _ in items:
        if path.is_dir():
            raise OutputError("is a folder; cannot replace it with a file", path=path)
        _remove_leftovers(path)
    staged: list[tuple[str, Path]] = []
    backups: list[tuple[str | None, Path]] = []
    try:
        for path, data in items:
            staged.append((_stage(path, data, durable), path))
        with _interrupts_held():
            for temporary, path in staged:
                backups.append((_backup(path), path))
                try:
                    os.replace(temporary, path)
                except OSError as error:
                    _restore(backups)
                    raise OutputError(f"cannot write: {reason(error)}", path=path) from None
    finally:
        for temporary, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        for backup, _ in backups:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold off Ctrl-C and SIGTERM (delivered once the block ends), in the main thread."""
    if threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _remove_leftovers(path: Path) -> None:
    """Remove the temporary files beside *path* that a killed build left (its process is gone)."""
    leftover = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.(?:[a-z0-9_]{{8}}\.part|old)")
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            match = leftover.fullmatch(entry.name)
            if match and not _alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (another user's process)
        return True
    return True


def _backup(path: Path) -> str | None:
    """A hard link to the file *path* still holds, so a failed build can put it back."""
    if not path.is_file():
        return None
    backup = f"{path.parent}/.{path.name}.{os.getpid()}.old"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(backup)
    try:
        os.link(path, backup)
    except OSError:
        return None
    return backup


def _restore(backups: list[tuple[str | None, Path]]) -> None:
    """Undo the renames done so far: old files back in place, new ones removed."""
    for backup, path in backups[:-1]:
        with contextlib.suppress(OSError):
            if backup is not None:
                os.replace(backup, path)
            else:
                os.unlink(path)


def _stage(path: Path, data: bytes, durable: bool) -> str:
    """Write *data* to a new temporary file beside *path*; return its name."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder: {reason(error)}", path=folder) from None
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part",
                                             dir=folder)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(temporary, _new_file_mode())
        return temporary
    except OSError as error:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise OutputError(f"cannot write: {reason(error)}", path=path) from None


def _new_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0o666 less the process's umask."""
    mask = os.umask(0o077)  # for that moment, a narrower mask: nothing is ever made wider
    os.umask(mask)
    return 0o666 & ~mask
