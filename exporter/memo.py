"""Answer "nothing changed" for a whole ``exporter build`` command before anything is imported.

After a build whose every article was built or kept, the command line records
(in the output folder's cache) what its result depended on: its arguments
and working folder, the package (by :func:`exporter.launch.fingerprint`),
the environment variables it reads, the SHA-256 of every file it read
(sources, images, stylesheets, defaults files, and the absence of the ones it
looked for), the contents of the folders it searched, and the SHA-256 of what
it wrote.  The next identical command checks all of that with the standard
library alone and, when everything matches, prints what an up-to-date build
prints, without starting Click, the pipeline or a build server.  Any
difference, or anything unusual, falls through to an ordinary build, which
decides with its own cache.  File times are never consulted.
"""

from __future__ import annotations

import os
import stat
import sys
import time

from .launch import TYPE_CHECKING, fingerprint, sha256

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

#: Where the records live, inside an output folder's cache.
FOLDER = os.path.join(".exporter-cache", "commands")
#: Default output folder of ``exporter build`` (its ``-o``).
DEFAULT_OUTPUT = "dist"
#: Defaults files the command line looks for, upward from the working folder.
DEFAULTS_FILES = ("exporter.toml", "pyproject.toml")
_FORMAT = 1
#: Records kept per output folder (one per distinct command line); the oldest go first.
KEEP = 64
#: Bytes one check hashes with the interpreter's own SHA-256 before it loads OpenSSL's
#: (hashlib): loading that costs about 3 ms, what the small one takes for 1 MiB; past
#: that, OpenSSL's is about six times as fast.
SMALL_HASH_BUDGET = 1024 * 1024


def environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The environment variables a build reads (the build server's own settings excepted)."""
    return {name: value for name, value in environ.items()
            if name == "SOURCE_DATE_EPOCH"
            or (name.startswith("EXPORTER_") and not name.startswith("EXPORTER_SERVER"))}


def record_path(output_dir: str, argv: list[str], cwd: str) -> str:
    """The record of the command *argv* run in *cwd*, writing into *output_dir*."""
    # (No argument holds a NUL; fsencode keeps bytes that are not UTF-8 as they were.)
    key = sha256(b"\0".join(map(os.fsencode, [cwd, *argv]))).hexdigest()[:32]
    return os.path.join(cwd, output_dir, FOLDER, f"{key}.json")


def hash_inputs(paths: Iterable[str], cwd: str) -> dict[str, str | None]:
    """SHA-256 of each file in *paths* (None if absent) and of every defaults file's place.

    Taken before a build reads them and again after: a file that changed meanwhile
    leaves the build without a record, as its outputs may not match it.
    """
    hasher = Hasher()
    files = {path: hasher.file(path) for path in (os.path.join(cwd, p) for p in paths)}
    for probe in _defaults_probes(cwd):
        files[probe] = hasher.file(probe)
    return files


def list_folders(folders: Iterable[str], cwd: str) -> dict[str, list[str]]:
    """The entries of each folder searched for articles (see :func:`hash_inputs`)."""
    return {path: _listing(path) for path in (os.path.join(cwd, f) for f in folders)}


def make_record(argv: list[str], cwd: str, tool: str, files: dict[str, str | None],
                folders: dict[str, list[str]], outputs: dict[str, str], lines: list[str],
                summary: dict[str, int] | None) -> dict[str, Any]:
    """The record of a finished command: everything :func:`replay` compares, and what to print.

    *tool* is the :func:`~exporter.launch.fingerprint` taken before the build started,
    *files* maps each file read (or looked for) to its SHA-256 as the build used it,
    *folders* each folder searched to its entries, *outputs* each file written (an
    absolute path) to the SHA-256 of the bytes written.
    """
    return {
        "format": _FORMAT, "argv": argv, "cwd": cwd, "tool": tool,
        "environment": environment(os.environ), "files": files, "folders": folders,
        "outputs": outputs, "lines": lines, "summary": summary,
    }


def prune(records_dir: str, keep: int = KEEP) -> None:
    """Remove all but the *keep* most recently written records (a folder of many commands)."""
    try:
        entries = [entry for entry in os.scandir(records_dir) if entry.name.endswith(".json")]
        if len(entries) <= keep:
            return
        entries.sort(key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
        for entry in entries[keep:]:
            os.unlink(entry.path)
    except OSError:
        pass  # a record too many costs a kilobyte, never a wrong answer


def replay(argv: list[str], tool: str | None = None) -> list[str] | None:
    """If *argv* was run here before and nothing it depends on has changed, what it prints.

    The lines an up-to-date build writes to standard error (the command is then done,
    with exit status 0); None when an ordinary build must decide.  *tool* is this
    installation's :func:`~exporter.launch.fingerprint`, if the caller has it already.
    """
    started = time.monotonic()
    try:
        cwd = os.getcwd()
        output_dir = _output_dir(argv, cwd)
        if output_dir is None:
            return None
        with open(record_path(output_dir, argv, cwd), encoding="utf-8") as handle:
            import json  # only now: most commands have no record to read

            record = json.load(handle)
        if not _unchanged(record, argv, cwd, tool or fingerprint()):
            return None
        lines = [str(line) for line in record["lines"]]
        summary = record.get("summary")
        if summary:
            lines.append(summary_line(summary, time.monotonic() - started))
    except Exception:  # anything unexpected: the ordinary build decides, and reports
        return None
    return lines


def summary_line(counts: dict[str, int], seconds: float) -> str:
    """The last line of a build of several articles (shared with the command line's reporter)."""
    return (f"{counts['built']} of {counts['articles']} articles built ({counts['reused']} up to "
            f"date): {counts['files']} files, {format_size(counts['size'])}, "
            f"{counts['warnings']} warning(s), in {seconds:.1f} s")


def format_size(size: int) -> str:
    """A file size as the command line prints it: bytes, KiB (whole) or MiB (one decimal)."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}" if unit == "MiB" else f"{size / scale:.0f} {unit}"
    return f"{size} bytes"


def _unchanged(record: dict[str, Any], argv: list[str], cwd: str, tool: str) -> bool:
    if record.get("format") != _FORMAT or record["argv"] != argv or record["cwd"] != cwd:
        return False
    if record["tool"] != tool or record["environment"] != environment(os.environ):
        return False
    probes = set(_defaults_probes(cwd))
    if not probes <= record["files"].keys():
        return False  # a defaults file that was not looked for then
    hasher = Hasher()
    for path, digest in record["files"].items():
        if hasher.file(path) != digest:
            return False
    for path, listing in record["folders"].items():
        if _listing(path) != listing:
            return False
    return all(digest is not None and hasher.file(path) == digest
               for path, digest in record["outputs"].items())


def _output_dir(argv: list[str], cwd: str) -> str | None:
    """The output folder *argv* names (``-o``), or the defaults file's, or ``dist``."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg in ("-o", "--output-dir"):
            return argv[index + 1] if index + 1 < len(argv) else None
        if arg.startswith("--output-dir="):
            return arg.split("=", 1)[1]
        if arg.startswith("-o") and not arg.startswith("--"):
            return arg[2:]
    import tomllib
    from pathlib import Path

    from .config import find_defaults

    path = find_defaults(Path(cwd))
    if path is None:
        return DEFAULT_OUTPUT
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    if path.name == "pyproject.toml":
        table = table["tool"]["exporter"]
    value = table.get("output-dir", DEFAULT_OUTPUT)
    return value if isinstance(value, str) else None


def _defaults_probes(cwd: str) -> Iterator[str]:
    """Every place a defaults file could be, from *cwd* up to the root."""
    folder = cwd
    while True:
        for name in DEFAULTS_FILES:
            yield os.path.join(folder, name)
        parent = os.path.dirname(folder)
        if parent == folder:
            return
        folder = parent


def _listing(folder: str) -> list[str]:
    """Every entry under *folder*, as sorted relative paths (folders end with a slash)."""
    entries: list[str] = []
    for root, dirs, files in os.walk(folder):
        relative = os.path.relpath(root, folder)
        prefix = "" if relative == "." else relative + "/"
        entries.extend(prefix + name + "/" for name in dirs)
        entries.extend(prefix + name for name in files)
    return sorted(entries)


class Hasher:
    """SHA-256 of the files one check reads, with the cheapest implementation for the bytes.

    The interpreter's own SHA-256 needs no loading, so a check of a few small files
    never loads OpenSSL; once :data:`SMALL_HASH_BUDGET` bytes are used up (a large
    image, many files), or when hashlib is loaded already, OpenSSL's does the rest.
    """

    def __init__(self) -> None:
        self.small_left = SMALL_HASH_BUDGET

    def file(self, path: str) -> str | None:
        """The file's SHA-256; None if absent; a word for anything that is not a regular file.

        Never opens a pipe, device or socket: reading one could wait for ever.
        """
        try:
            status = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(status.st_mode):
            return "folder" if stat.S_ISDIR(status.st_mode) else "not a file"
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size <= self.small_left and "hashlib" not in sys.modules:
                self.small_left -= size
                return sha256(handle.read()).hexdigest()
            import hashlib

            return hashlib.file_digest(handle, "sha256").hexdigest()
