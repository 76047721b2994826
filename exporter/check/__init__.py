"""Validation of EPUB and PDF files, whoever made them, reported as data.

EPUBs go through EPUBCheck and DAISY Ace, PDFs through pikepdf; a missing tool or a
broken file is a :class:`Finding` too, never an exception.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from ..errors import reason
from .epub import AceTool, check_epub, locate_ace
from .findings import SEVERITIES, Finding


def check_files(paths: Iterable[Path | str], *, ace_dir: Path | None = None) -> list[Finding]:
    """Check each EPUB or PDF in turn and return all findings, file by file."""
    ace = locate_ace([ace_dir] if ace_dir is not None else [])
    return [finding for path in paths for finding in _check_one(Path(path), ace)]


def has_errors(findings: Iterable[Finding]) -> bool:
    """Whether any finding is an error, which makes a check (and the command) fail."""
    return any(finding.severity == "error" for finding in findings)


def findings_to_json(findings: Iterable[Finding]) -> str:
    """The findings as a JSON array of objects with code, severity, file and message."""
    return json.dumps([asdict(finding) for finding in findings], indent=2, ensure_ascii=False)


def format_findings(findings: Sequence[Finding]) -> str:
    """The findings as an aligned plain-text table with a count line, for people to read."""
    if not findings:
        return "No problems found."
    rows = [("SEVERITY", "CODE", "FILE", "MESSAGE"),
            *((f.severity, f.code, _shown(f.file), _shown(" ".join(f.message.split())))
              for f in findings)]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
             + "  " + row[3] for row in rows]
    counts = [sum(f.severity == severity for f in findings) for severity in SEVERITIES]
    plural = ["" if count == 1 else "s" for count in counts]
    lines += ["", f"{counts[0]} error{plural[0]}, {counts[1]} warning{plural[1]}, {counts[2]} info"]
    return "\n".join(lines)


def _shown(text: str) -> str:
    """*text* safe for a terminal: control characters (as a hostile file's metadata may hold,
    an escape sequence among them) written as Python escapes."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _check_one(path: Path, ace: AceTool | str) -> list[Finding]:
    """Identify one file by its content (then its name) and run the checks for its type."""
    name = str(path)
    try:
        with path.open("rb") as stream:
            head = stream.read(1024)
    except FileNotFoundError:
        return [Finding("FILE-MISSING", "error", name, "no such file")]
    except OSError as error:
        return [Finding("FILE-UNREADABLE", "error", name,
                        f"cannot read the file: {reason(error)}")]
    suffix = path.suffix.lower()
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                epub = archive.read("mimetype").strip() == b"application/epub+zip"
        except KeyError:  # (no mimetype entry)
            epub = False
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError):
            epub = None  # not a readable ZIP
        if epub or (epub is False and suffix == ".epub"):
            return check_epub(path, name, ace)
        if epub is False:
            return [Finding("FILE-TYPE", "error", name,
                            "a ZIP archive but not an EPUB (no application/epub+zip mimetype)")]
    elif b"%PDF-" in head:
        from .pdf import check_pdf  # (pikepdf, imported only when a PDF is checked)

        return check_pdf(path, name)
    if suffix == ".epub":
        return [Finding("EPUB-INVALID", "error", name,
                        "not a valid EPUB: the file is not a readable ZIP archive")]
    if suffix == ".pdf":
        return [Finding("PDF-INVALID", "error", name,
                        "not a valid PDF: no %PDF- header in the first 1024 bytes")]
    return [Finding("FILE-TYPE", "error", name,
                    "unknown file type: only EPUB and PDF files can be checked")]

