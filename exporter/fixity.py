"""Fixity records for archivists: a ``SHA256SUMS`` manifest and BagIt 1.0 bags.

Both are reproducible: what ``bagit`` takes from the clock or the listing order is rewritten.
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
_BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def write_manifest(outputs: list[Path], folder: Path) -> Path:
    """Add *outputs* to ``folder/SHA256SUMS``, keeping its other entries; return its path."""
    target = folder / MANIFEST_NAME
    entries = read_manifest(target) if target.exists() else {}
    for path in outputs:  # (named from the folder as given, else as both resolve)
        pairs = ((Path(os.path.abspath(path)), Path(os.path.abspath(folder))),
                 (path.resolve(), folder.resolve()))
        name = next((full.relative_to(base).as_posix() for full, base in pairs
                     if full.is_relative_to(base)), None)
        if name is None:
            raise OutputError(f"not inside the manifest's folder {folder}", path=path)
        if name == MANIFEST_NAME:
            raise OutputError("the manifest cannot list itself", path=path)
        try:
            with path.open("rb") as stream:
                entries[name] = hashlib.file_digest(stream, "sha256").hexdigest()
        except OSError as error:
            raise OutputError(f"cannot read for its checksum: {reason(error)}", path=path) from None
    lines = []
    for name, digest in sorted(entries.items()):
        if "\r" in name:
            raise OutputError("a file name with a carriage return cannot be listed", path=name)
        # sha256sum's own escape: a leading backslash, then \\ and \n in the name.
        escaped = name.replace("\\", "\\\\").replace("\n", "\\n")
        prefix = "\\" if escaped != name else ""
        lines.append(f"{prefix}{digest}  {escaped}\n")
    write_atomic(target, "".join(lines).encode("utf-8"))
    return target


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
        match = _LINE.match(line)
        if line and match is None:
            raise OutputError("not a sha256sum line; fix or remove the manifest", path=path,
                              line=number)
        if match:
            escaped, digest, name = match.groups()
            if escaped:
                name = re.sub(r"\\(.?)", lambda m: {"n": "\n", "r": "\r", "\\": "\\"}.get(
                    m[1], m[0]), name)
            entries[name] = digest.lower()
    return entries


def bagging_date(dates: Iterable[dt.date | None]) -> dt.date:
    """The date a bag of these documents claims: the latest of them, never today's."""
    return max((date for date in dates if date is not None), default=FALLBACK_DATE)


def write_bag(bag_dir: Path, editions: list[Path], inputs: Sequence[tuple[str, Path]],
              record: bytes, *, external_identifier: str | Sequence[str], bagging_date: dt.date,
              tool: str) -> Path:
    """Write a BagIt 1.0 bag of the *editions* and kept *inputs* into the new or empty *bag_dir*,
    with *record* as its tag file ``exporter-build.json``."""
    import bagit

    from .archive import RECORD_NAME

    check_bag_dir(bag_dir)
    payload = _payload(editions, inputs)
    identifiers = [external_identifier] if isinstance(external_identifier, str) \
        else list(external_identifier)
    info = {"Bag-Software-Agent": tool, "Bagging-Date": bagging_date.isoformat()[:10],
            "External-Identifier": identifiers}
    try:
        bag_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{bag_dir.name}.", suffix=".part",
                                        dir=bag_dir.parent))
    except OSError as error:
        raise OutputError(f"cannot create folder: {reason(error)}", path=bag_dir.parent) from None
    try:
        with quiet("bagit"):
            for name, path in payload:  # (make_bag moves all of it under data/)
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, staging / name)
            bagit.make_bag(str(staging), bag_info=info, processes=1, checksums=list(BAG_ALGORITHMS))
            # bagit writes version 0.97 and lists tag files in directory order: fix both.
            (staging / "bagit.txt").write_bytes(_BAGIT_TXT)
            (staging / RECORD_NAME).write_bytes(record)
            tags = sorted(path.name for path in staging.iterdir()
                          if path.is_file() and not path.name.startswith("tagmanifest-"))
            for algorithm in BAG_ALGORITHMS:
                lines = [f"{hashlib.new(algorithm, (staging / name).read_bytes()).hexdigest()}  {name}\n"
                         for name in tags]
                (staging / f"tagmanifest-{algorithm}.txt").write_bytes("".join(lines).encode("utf-8"))
            moment = dt.datetime.combine(bagging_date, dt.time(), dt.UTC).timestamp()
            for path in [*sorted(staging.rglob("*"), key=lambda item: -len(item.parts)), staging]:
                path.chmod(0o755 if path.is_dir() else 0o644)  # (the same modes and times anywhere)
                os.utime(path, (moment, moment))
            bagit.Bag(str(staging)).validate()
        if bag_dir.is_dir():
            bag_dir.rmdir()  # empty, as checked; a folder filled meanwhile makes this fail
        os.rename(staging, bag_dir)
    except (bagit.BagError, OSError, RuntimeError) as error:
        detail = reason(error) if isinstance(error, OSError) else error
        raise OutputError(f"cannot write bag: {detail}", path=bag_dir) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # (gone already once moved into place)
    return bag_dir


def check_bag_dir(bag_dir: Path) -> None:
    """Raise :class:`OutputError` unless *bag_dir* is absent or an empty folder."""
    if bag_dir.exists() and not bag_dir.is_dir():
        raise OutputError("exists and is not a folder; choose a new folder for the bag",
                          path=bag_dir)
    if bag_dir.is_dir() and any(bag_dir.iterdir()):
        raise OutputError("folder is not empty; choose a new or empty folder for the bag",
                          path=bag_dir)


def _payload(editions: list[Path], inputs: Sequence[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """The payload as (name under ``data/``, file) pairs, sorted, names unique."""
    chosen: dict[str, Path] = {}
    for name, path in [*((f"editions/{path.name}", path) for path in editions), *inputs]:
        if not path.is_file():
            raise OutputError("no such file to put in the bag", path=path)
        if not chosen.setdefault(name, path).samefile(path):
            raise OutputError(f"two different files would be data/{name} in the bag: "
                              f"{chosen[name]}", path=path)
    return sorted(chosen.items())


@contextlib.contextmanager
def quiet(name: str) -> Iterator[None]:
    """Keep the log records of the library *name*, and of its modules, off the terminal."""
    logger, handler = logging.getLogger(name), logging.NullHandler()
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
