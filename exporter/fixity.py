"""Fixity records for archivists: a ``SHA256SUMS`` manifest and BagIt 1.0 bags.

:func:`write_manifest` keeps ``SHA256SUMS`` in the output folder in the exact
format ``sha256sum -c`` reads, merging with what earlier builds listed there.
:func:`write_bag` packs editions and their sources into a BagIt 1.0 bag with
the ``bagit`` library, then rewrites the parts that library makes from the
wall clock or the file system's listing order, so the same inputs always give
the same bytes.  Nothing here prints: failures are :class:`OutputError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .errors import OutputError, reason
from .output import write_atomic

#: The manifest's file name, the one ``sha256sum -c`` users expect.
MANIFEST_NAME = "SHA256SUMS"
#: Checksums of every bag, payload and tags alike (the ``bagit`` defaults).
BAG_ALGORITHMS = ("sha256", "sha512")
#: The date of a bag whose documents carry none: the ZIP epoch the editions use too.
FALLBACK_DATE = dt.date(1980, 1, 1)

_LINE = re.compile(r"^(\\?)([0-9A-Fa-f]{64}) [ *](.+)$")
_BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
_CHUNK = 1024 * 1024


def write_manifest(outputs: list[Path], folder: Path) -> Path:
    """Add *outputs* to ``folder/SHA256SUMS``, keeping its other entries; return its path."""
    target = folder / MANIFEST_NAME
    entries = read_manifest(target) if target.exists() else {}
    for path in outputs:
        name = _name_in(path, folder)
        if name == MANIFEST_NAME:
            raise OutputError("the manifest cannot list itself", path=path)
        entries[name] = file_sha256(path)
    write_atomic(target, format_manifest(entries))
    return target


def format_manifest(entries: dict[str, str]) -> bytes:
    """``sha256sum`` lines (``<hex>  <name>``) for *entries*, sorted by name, LF-ended."""
    lines = []
    for name in sorted(entries):
        if "\r" in name:
            raise OutputError("a file name with a carriage return cannot be listed", path=name)
        prefix = ""
        if "\\" in name or "\n" in name:
            # sha256sum's own escape: a leading backslash, then \\ and \n in the name.
            prefix, name_text = "\\", name.replace("\\", "\\\\").replace("\n", "\\n")
        else:
            name_text = name
        lines.append(f"{prefix}{entries[name].lower()}  {name_text}\n")
    return "".join(lines).encode("utf-8")


def read_manifest(path: Path) -> dict[str, str]:
    """The name-to-digest entries of an existing ``SHA256SUMS`` (later lines win)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise OutputError(f"cannot read manifest: {reason(error)}", path=path) from None
    except UnicodeDecodeError:
        raise OutputError("manifest is not UTF-8 text", path=path) from None
    entries: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        match = _LINE.match(line)
        if match is None:
            raise OutputError("not a sha256sum line; fix or remove the manifest", path=path,
                              line=number)
        escaped, digest, name = match.groups()
        if escaped:
            name = _unescape(name)
        entries[name] = digest.lower()
    return entries


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as lowercase hex."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except OSError as error:
        raise OutputError(f"cannot read for its checksum: {reason(error)}",
                          path=path) from None
    return digest.hexdigest()


def bagging_date(dates: Iterable[dt.date | None]) -> dt.date:
    """The date a bag of these documents claims: the latest of them, never today's."""
    known = [date for date in dates if date is not None]
    return max(known, default=FALLBACK_DATE)


def write_bag(
    bag_dir: Path,
    editions: list[Path],
    inputs: Sequence[tuple[str, Path]],
    record: bytes,
    *,
    external_identifier: str | Sequence[str],
    bagging_date: dt.date,
    tool: str,
) -> Path:
    """Write a BagIt 1.0 bag into the new or empty *bag_dir*.

    Its payload is ``data/editions/`` and the kept *inputs* under their archive names
    (``data/sources/``, ``data/styles/``); *record* is the tag file ``exporter-build.json``.
    """
    import bagit

    from .archive import RECORD_NAME

    check_bag_dir(bag_dir)
    payload = _payload(editions, inputs)
    identifiers = [external_identifier] if isinstance(external_identifier, str) else list(
        external_identifier)
    if isinstance(bagging_date, dt.datetime):
        bagging_date = bagging_date.date()
    info: dict[str, str | list[str]] = {
        "Bag-Software-Agent": tool,
        "Bagging-Date": bagging_date.isoformat(),
        "External-Identifier": identifiers,
    }
    parent = bag_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{bag_dir.name}.", suffix=".part", dir=parent))
    except OSError as error:
        raise OutputError(f"cannot create folder: {reason(error)}", path=parent) from None
    try:
        with quiet(logging.getLogger("bagit")) as messages:
            try:
                for name, path in payload:
                    _copy(path, staging / name)  # make_bag moves all of it under data/
                bagit.make_bag(str(staging), bag_info=info, processes=1,
                               checksums=list(BAG_ALGORITHMS))
                # bagit writes version 0.97 and lists tag files in directory order: fix both.
                (staging / "bagit.txt").write_bytes(_BAGIT_TXT.encode("utf-8"))
                (staging / RECORD_NAME).write_bytes(record)
                _write_tag_manifests(staging)
                _fix_modes_and_times(staging, bagging_date)
                bagit.Bag(str(staging)).validate()
            except bagit.BagError as error:
                raise OutputError(f"bag is not valid: {error} {' '.join(messages)}".strip(),
                                  path=bag_dir) from None
            except (OSError, RuntimeError) as error:
                detail = getattr(error, "strerror", None) or error
                raise OutputError(f"cannot write bag: {detail}", path=bag_dir) from None
        _move_into_place(staging, bag_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return bag_dir


def check_bag_dir(bag_dir: Path) -> None:
    """Raise :class:`OutputError` unless *bag_dir* is absent or an empty folder."""
    if not bag_dir.exists():
        return
    if not bag_dir.is_dir():
        raise OutputError("exists and is not a folder; choose a new folder for the bag",
                          path=bag_dir)
    if any(bag_dir.iterdir()):
        raise OutputError("folder is not empty; choose a new or empty folder for the bag",
                          path=bag_dir)


def _payload(editions: list[Path], inputs: Sequence[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """The payload as (name under ``data/``, file) pairs, sorted, names unique."""
    chosen: dict[str, Path] = {}
    for name, path in [*((f"editions/{path.name}", path) for path in editions), *inputs]:
        if not path.is_file():
            raise OutputError("no such file to put in the bag", path=path)
        earlier = chosen.get(name)
        if earlier is not None and not _same_file(earlier, path):
            raise OutputError(f"two different files would be data/{name} in the bag: {earlier}",
                              path=path)
        chosen[name] = path
    return sorted(chosen.items())


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.samefile(second)
    except OSError:
        return False


def _copy(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)


def _write_tag_manifests(bag: Path) -> None:
    """Write ``tagmanifest-<alg>.txt`` for the tag files, sorted by name."""
    names = sorted(
        path.relative_to(bag).as_posix()
        for path in bag.rglob("*")
        if path.is_file() and path.relative_to(bag).parts[0] != "data"
        and not path.name.startswith("tagmanifest-")
    )
    for algorithm in BAG_ALGORITHMS:
        lines = []
        for name in names:
            digest = hashlib.new(algorithm, (bag / name).read_bytes()).hexdigest()
            lines.append(f"{digest}  {name}\n")
        (bag / f"tagmanifest-{algorithm}.txt").write_bytes("".join(lines).encode("utf-8"))


def _fix_modes_and_times(bag: Path, date: dt.date) -> None:
    """Give every file and folder fixed permissions and the bagging date as its time."""
    moment = dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp()
    for path in sorted(bag.rglob("*"), key=lambda item: len(item.parts), reverse=True):
        path.chmod(0o755 if path.is_dir() else 0o644)
        os.utime(path, (moment, moment))
    bag.chmod(0o755)
    os.utime(bag, (moment, moment))


def _move_into_place(staging: Path, bag_dir: Path) -> None:
    try:
        if bag_dir.is_dir():
            bag_dir.rmdir()  # empty, as checked; a folder filled meanwhile makes this fail
        os.rename(staging, bag_dir)
    except OSError as error:
        raise OutputError(f"cannot move the bag into place: {reason(error)}",
                          path=bag_dir) from None


def _unescape(name: str) -> str:
    out, characters = [], iter(name)
    for character in characters:
        if character == "\\":
            following = next(characters, "")
            out.append({"n": "\n", "r": "\r", "\\": "\\"}.get(following, "\\" + following))
        else:
            out.append(character)
    return "".join(out)


def _name_in(path: Path, folder: Path) -> str:
    """*path* relative to *folder*, with ``/`` separators; an error when outside it."""
    for candidate, base in ((Path(os.path.abspath(path)), Path(os.path.abspath(folder))),
                            (path.resolve(), folder.resolve())):
        with contextlib.suppress(ValueError):
            return candidate.relative_to(base).as_posix()
    raise OutputError(f"not inside the manifest's folder {folder}", path=path)


@contextlib.contextmanager
def quiet(logger: logging.Logger) -> Iterator[list[str]]:
    """Keep a library's log records from reaching the terminal; yield its error messages."""
    messages: list[str] = []

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                messages.append(record.getMessage())

    handler = Collector(logging.DEBUG)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
