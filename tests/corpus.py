"""A corpus of Markdown nobody here wrote, fetched from PyPI source releases and checked by hash.

* the CommonMark specification's examples, one article each (mistune's test fixture);
* the documentation of Python-Markdown, PyMdown Extensions and MkDocs.

The releases are downloaded once into ``.corpus/`` (or ``$EXPORTER_CORPUS_DIR``) with pip,
which CI can reach as it installs the project; nothing of them is kept in the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Source releases (name, version, SHA-256) and the Markdown they hold.
RELEASES = {
    "mistune-3.4.0.tar.gz": "2eaf7952af928ca8d33b779762effc1da517b62c6ad85ec8ca957e3b07b9782a",
    "markdown-3.11.4.tar.gz": "c911a757f33d64a2578bed2d20c57e007b2aedd8a67bceabd593b31143d54ead",
    "pymdown_extensions-13.1.2.tar.gz":
        "724701395585d027fb18a6ad3377636570bac4f2917ed809f06cbc811d7e60bb",
    "mkdocs-1.6.1.tar.gz": "7b432f01d928c084353ab39c57282f29f92136665bdd6abf7c1ec8d822ef86f2",
}
_REQUIREMENTS = ["mistune==3.4.0", "markdown==3.11.4", "pymdown-extensions==13.1.2", "mkdocs==1.6.1"]


def corpus_dir() -> Path:
    return Path(os.environ.get("EXPORTER_CORPUS_DIR", ROOT / ".corpus"))


def fetch_releases() -> Path:
    """The release archives, downloaded if missing; a hash that does not match is an error."""
    folder = corpus_dir() / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    if not all((folder / name).is_file() for name in RELEASES):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", "--disable-pip-version-check",
                        "-d", str(folder), *_REQUIREMENTS], check=True, timeout=600)
    for name, digest in RELEASES.items():
        actual = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        if actual != digest:
            raise AssertionError(f"{name}: SHA-256 {actual}, expected {digest}")
    return folder


def write_articles(target: Path) -> list[Path]:
    """Write every document of the corpus into *target* as its own article file."""
    releases = fetch_releases()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(releases / "mistune-3.4.0.tar.gz") as archive:
        member = archive.extractfile("mistune-3.4.0/tests/fixtures/commonmark.json")
        assert member is not None
        examples = json.load(member)
    for example in examples:
        path = target / f"commonmark-{example['example']:03}.md"
        path.write_text(example["markdown"], encoding="utf-8")
        written.append(path)
    for name in sorted(RELEASES):
        if name.startswith("mistune"):
            continue
        with tarfile.open(releases / name) as archive:
            for member in sorted(archive.getmembers(), key=lambda m: m.name):
                if not member.isfile() or not member.name.endswith(".md"):
                    continue
                data = archive.extractfile(member)
                assert data is not None
                stem = re.sub(r"[^A-Za-z0-9]+", "-", member.name.split("/", 1)[1][:-3]).strip("-")
                path = target / f"{name.split('-')[0].split('_')[0]}-{stem}.md"
                path.write_bytes(data.read())
                written.append(path)
    return written
