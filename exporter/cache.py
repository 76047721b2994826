"""One content-addressed cache of builds, which never serves a stale file: the key hashes all
that shapes the bytes, and the record the other inputs and outputs, which must still match."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import OutputError
from .options import Options
from .output import write_atomic
from .resources import is_inside, styles_dir
from .userstyle import resolve_stylesheet

CACHE_DIR = ".exporter-cache"
#: The shape of a record; a record of another shape is a miss.
_FORMAT = "exporter-build-3"
#: Distributions whose code shapes the editions' bytes.
_LIBRARIES = ("weasyprint", "pydyf", "pillow", "ebooklib", "markdown", "pymdown-extensions",
              "fonttools", "nh3", "lxml", "tinycss2", "cssselect2", "pyphen", "tinyhtml5", "pyyaml")
#: System libraries WeasyPrint lays text out with, and the call that names their version.
_SYSTEM_LIBRARIES = (("libpango-1.0.so.0", "pango_version_string"),
                     ("libharfbuzz.so.0", "hb_version_string"))


def tool_fingerprint() -> str:
    """SHA-256 of the tool as it shapes bytes: its files, bundled styles and fonts, and libraries."""
    digest = hashlib.sha256()
    for root, pattern in ((Path(__file__).resolve().parent, "*.py"), (styles_dir(), "*")):
        for path in sorted(root.rglob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps({**tool_versions(), "python": sys.version}, sort_keys=True).encode())
    return digest.hexdigest()


def tool_versions() -> dict[str, str]:
    """The version of this tool, of every library that shapes its bytes, and of Pango and HarfBuzz."""
    import ctypes
    from importlib import metadata

    from . import __version__

    # Every PDF's fonts are subset by fontTools (see :mod:`exporter.editions.pdf`).
    versions = {"exporter": __version__, "python": sys.version.split()[0], "subsetter": "fontTools"}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    for library, call in _SYSTEM_LIBRARIES:
        try:
            function = getattr(ctypes.CDLL(library), call)
            function.restype = ctypes.c_char_p
            versions[library] = function().decode("ascii", "replace")
        except (OSError, AttributeError):
            versions[library] = "absent"
    return versions


def build_key(tool: str, name: str, raw: bytes, options: Options) -> str:
    """The key of building the source *name* (its file name) with bytes *raw* under *options*."""
    digest = hashlib.sha256(f"{_FORMAT}\0{tool}\0{name}\0".encode())
    settings = {field.name: str(getattr(options, field.name))
                for field in dataclasses.fields(options) if field.name != "reuse"}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in options.user_stylesheets:  # whole: with what it imports and names
        digest.update(b"stylesheet\0" + resolve_stylesheet(path).encode())
    digest.update(hashlib.sha256(raw).digest())
    return digest.hexdigest()


def input_hashes(folder: Path, names: Iterable[str]) -> dict[str, str | None]:
    """SHA-256 of each file *names* gives in *folder*: None when not there, ``outside`` when it
    leads out of the folder (refused now, read if replaced by a file inside)."""
    # (An absolute name is always refused: only the source, hashed, can change that.)
    return {name: _sha256(folder / name) if is_inside(folder / name, [folder]) else "outside"
            for name in names if not Path(name).is_absolute()}


def lookup(output_dir: Path, stem: str, key: str, source_dir: Path) -> dict[str, Any] | None:
    """The record of the build *key* when its inputs and outputs all still match; else None."""
    folder = _record_folder(output_dir, stem)
    if folder is None:
        return None
    try:
        record: dict[str, Any] = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        if record["format"] != _FORMAT or record["key"] != key \
                or input_hashes(source_dir, record["inputs"]) != record["inputs"]:
            return None
        for output in record["outputs"]:
            name = output["name"]
            if Path(name).name != name or _sha256(output_dir / name) != output["sha256"]:
                return None
    except (OSError, ValueError, KeyError, TypeError):  # no record, or not one of ours
        return None
    return record


def store(output_dir: Path, stem: str, key: str, inputs: dict[str, str | None],
          outputs: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """Record a finished build of *stem* for :func:`lookup`, in place of older ones (OutputError
    when the record cannot be written)."""
    folder = _record_folder(output_dir, stem)
    if folder is None:
        raise OutputError("the build record's folder is not a plain folder of the output folder",
                          path=output_dir / CACHE_DIR)
    record = {"format": _FORMAT, "key": key, "inputs": inputs, "outputs": outputs, **extra}
    # (A record lost to a crash costs a rebuild; lookup takes a torn one for none.)
    write_atomic(folder / f"{key}.json", json.dumps(record, sort_keys=True, indent=1).encode(),
                 durable=False)
    for older in folder.glob("*.json"):  # they describe outputs that are now replaced
        if older.name != f"{key}.json" and len(older.stem) == 64:
            with contextlib.suppress(OSError):
                older.unlink()


def _record_folder(output_dir: Path, stem: str) -> Path | None:
    """``OUTPUT/.exporter-cache/STEM``, unless the stem or a link could lead it elsewhere."""
    cache = output_dir / CACHE_DIR
    if stem in ("", ".", "..") or "/" in stem or cache.is_symlink() or (cache / stem).is_symlink():
        return None
    return cache / stem


def _sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file (None for anything else: missing, a pipe, a folder)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    except OSError:
        return None
