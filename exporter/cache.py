"""Skip rebuilding what has not changed, keyed by content hashes, never by file times.

A build records, beside its outputs, the hash of everything that went into
them: the source bytes, the images it read, the stylesheets, the options and
the tool's version.  The next build with the same inputs finds the same key
and the outputs still in place (same SHA-256), and writes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from . import __version__
from .options import Options
from .output import write_atomic
from .resources import styles_dir

CACHE_DIR = ".exporter-cache"


def input_key(raw: bytes, options: Options) -> str:
    """Hash of the source bytes, options, stylesheets and tool version (images are checked apart)."""
    digest = hashlib.sha256()
    digest.update(f"exporter {__version__}\n".encode())
    settings = {field.name: str(getattr(options, field.name))
                for field in dataclasses.fields(options)}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for sheet in sorted(styles_dir().glob("*.css")):
        digest.update(sheet.name.encode() + b"\0" + sheet.read_bytes())
    for path in options.user_stylesheets:
        digest.update(b"user\0" + (path.read_bytes() if path.is_file() else b"missing"))
    digest.update(hashlib.sha256(raw).digest())
    return digest.hexdigest()


def _record_path(output_dir: Path, stem: str) -> Path:
    return output_dir / CACHE_DIR / f"{stem}.json"


def lookup(output_dir: Path, stem: str, key: str, source_dir: Path) -> dict[str, Any] | None:
    """The recorded build when its key, images and outputs all still match; else None."""
    try:
        record = json.loads(_record_path(output_dir, stem).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    for name, expected in record.get("images", {}).items():
        if _sha256(source_dir / name) != expected:
            return None
    for output in record.get("outputs", []):
        if _sha256(output_dir / output["name"]) != output["sha256"]:
            return None
    return record


def store(output_dir: Path, stem: str, key: str, images: dict[str, str],
          outputs: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """Record a finished build for :func:`lookup`."""
    record = {"key": key, "images": images, "outputs": outputs, **extra}
    data = json.dumps(record, sort_keys=True, indent=1).encode("utf-8")
    # (A record lost to a crash costs a rebuild; lookup takes a torn one for none.)
    write_atomic(_record_path(output_dir, stem), data, durable=False)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
