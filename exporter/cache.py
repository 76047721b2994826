"""One content-addressed cache of builds, which never serves a stale file.

A build's key is the SHA-256 of everything that shapes its bytes, known
before it runs: the source's name and bytes, every option (user stylesheets
by content), and the tool itself (:func:`tool_fingerprint`: this package's
files and bundled styles and fonts by content, the versions of the libraries
and system text libraries that shape the output, and the font subsetter).
Its record, ``OUTPUT/.exporter-cache/<name>/<key>.json``, lists what the build read
or looked for beyond that (images, a cover) with their hashes, and the
SHA-256 of what it wrote.  A later build with the same key keeps the outputs
only when every listed file and every output still hashes the same; anything
else, including a corrupt or foreign record, is a miss.  No record names an
absolute path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
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
#: What a record says of a file that leads out of the source's folder.
_OUTSIDE = "outside"
#: The name of a record: its key.
_RECORD_NAME = re.compile(r"[0-9a-f]{64}\.json")
#: The font subsetter every PDF is made with (see :mod:`exporter.editions.pdf`).
SUBSETTER = "fontTools"


def tool_fingerprint() -> str:
    """SHA-256 of the tool as it shapes bytes: its files, bundled styles and fonts, and libraries."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    folders = [(package, "*.py"), (styles_dir(), "*")]
    for root, pattern in folders:
        for path in sorted(root.rglob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps({**tool_versions(), "python": sys.version}, sort_keys=True).encode())
    return digest.hexdigest()


def tool_versions() -> dict[str, str]:
    """The version of this tool and of every library that shapes its bytes, by name."""
    from importlib import metadata

    from . import __version__

    versions = {"exporter": __version__, "python": sys.version.split()[0], "subsetter": SUBSETTER}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return {**versions, **_system_versions()}


def _system_versions() -> dict[str, str]:
    """The versions of Pango and HarfBuzz as the system has them ("absent" where not found)."""
    import ctypes

    found = {}
    for library, call in _SYSTEM_LIBRARIES:
        try:
            function = getattr(ctypes.CDLL(library), call)
            function.restype = ctypes.c_char_p
            found[library] = function().decode("ascii", "replace")
        except (OSError, AttributeError):
            found[library] = "absent"
    return found


def build_key(tool: str, name: str, raw: bytes, options: Options) -> str:
    """The key of building the source *name* (its file name) with bytes *raw* under *options*."""
    digest = hashlib.sha256()
    digest.update(f"{_FORMAT}\0{tool}\0{name}\0".encode())
    settings = {field.name: str(getattr(options, field.name))
                for field in dataclasses.fields(options) if field.name != "reuse"}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in options.user_stylesheets:  # whole: with what it imports and names
        digest.update(b"stylesheet\0" + resolve_stylesheet(path).encode())
    digest.update(hashlib.sha256(raw).digest())
    return digest.hexdigest()


def input_hashes(folder: Path, names: Iterable[str]) -> dict[str, str | None]:
    """SHA-256 of each file *names* gives in *folder*: None when not there, ``outside`` when it
    leads out of the folder (refused now, read if it is replaced by a file inside)."""
    hashes: dict[str, str | None] = {}
    for name in names:
        if Path(name).is_absolute():  # (always refused: only the source, hashed, can change it)
            continue
        path = folder / name
        hashes[name] = _sha256(path) if is_inside(path, [folder]) else _OUTSIDE
    return hashes


def lookup(output_dir: Path, stem: str, key: str, source_dir: Path) -> dict[str, Any] | None:
    """The record of the build *key* when its inputs and outputs all still match; else None."""
    folder = _record_folder(output_dir, stem)
    if folder is None:
        return None
    try:
        record = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        if record["format"] != _FORMAT or record["key"] != key:
            return None
        if input_hashes(source_dir, record["inputs"]) != record["inputs"]:
            return None
        for output in record["outputs"]:
            name = output["name"]
            if Path(name).name != name or _sha256(output_dir / name) != output["sha256"]:
                return None
    except (OSError, ValueError, KeyError, TypeError):  # no record, or not one of ours
        return None
    return dict(record)


def store(output_dir: Path, stem: str, key: str, inputs: dict[str, str | None],
          outputs: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """Record a finished build of the outputs *stem*.* for :func:`lookup`, in place of older ones.

    Raises :class:`~exporter.errors.OutputError` when the record cannot be written.
    """
    folder = _record_folder(output_dir, stem)
    if folder is None:
        raise OutputError("the build record's folder is not a plain folder of the output folder",
                          path=output_dir / CACHE_DIR)
    record = {"format": _FORMAT, "key": key, "inputs": inputs, "outputs": outputs, **extra}
    data = json.dumps(record, sort_keys=True, indent=1).encode("utf-8")
    # (A record lost to a crash costs a rebuild; lookup takes a torn one for none.)
    write_atomic(folder / f"{key}.json", data, durable=False)
    for older in folder.iterdir():  # they describe outputs that are now replaced
        if _RECORD_NAME.fullmatch(older.name) and older.name != f"{key}.json":
            with contextlib.suppress(OSError):
                older.unlink()


def _record_folder(output_dir: Path, stem: str) -> Path | None:
    """``OUTPUT/.exporter-cache/STEM``, unless the stem or a link could lead it elsewhere."""
    cache = output_dir / CACHE_DIR
    folder = cache / stem
    if stem in ("", ".", "..") or "/" in stem or cache.is_symlink() or folder.is_symlink():
        return None
    return folder


def _sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file (None for anything else: missing, a pipe, a folder)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    except OSError:
        return None
