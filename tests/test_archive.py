"""Archivists' copies: PDF/A-3 carrying its source, and plain-text import."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
from lxml import html as lxml_html

from conftest import SEED, SEED_TEXT, run_cli
from validators import epubcheck_messages


def test_archive_pdf_is_pdf_a3_with_its_source(tmp_path: Path) -> None:
    result = run_cli("build", SEED, "-o", tmp_path, "-f", "pdf", "--edition", "archive")
    assert result.exit_code == 0, result.output
    with pikepdf.open(tmp_path / "pokrovsk.pdf") as pdf:
        xmp = pdf.open_metadata()
        assert xmp.get("pdfaid:part") == "3"
        assert xmp.get("pdfaid:conformance") == "A"
        assert "exporter" in xmp.get("xmp:CreatorTool", "") and "archive" in xmp["xmp:CreatorTool"]
        files = pdf.attachments
        assert sorted(files) == ["exporter-build.json", "sources/pokrovsk.md"]
        spec = files["sources/pokrovsk.md"]
        assert spec.get_file().read_bytes() == SEED.read_bytes()
        assert str(spec.obj.AFRelationship) == "/Source"
        assert str(files["exporter-build.json"].obj.AFRelationship) == "/Supplement"
        assert "/StructTreeRoot" in pdf.Root


def test_plain_text_seed_imports_with_its_structure(tmp_path: Path) -> None:
    result = run_cli("build", SEED_TEXT, "-o", tmp_path, "-f", "html", "-f", "epub")
    assert result.exit_code == 0, result.output
    root = lxml_html.parse(str(tmp_path / f"{SEED_TEXT.stem}.html")).getroot()
    body = root.find(".//div[@class='body']")
    assert [h.text_content() for h in body.iter("h2")] == [
        line for line in SEED_TEXT.read_text(encoding="utf-8").splitlines()
        if line and len(line) < 90 and not line.endswith((".", ":", "?")) and line[0] not in "-|"]
    lists = body.findall(".//ul")
    assert len(lists) == 1 and len(lists[0].findall("li")) == 3
    table = body.find(".//table")
    assert len(table.findall("thead/tr")) == 1 and len(table.findall("tbody/tr")) == 3
    source_words = re.findall(r"\w+", SEED_TEXT.read_text(encoding="utf-8"))
    text_words = re.findall(r"\w+", body.text_content())
    assert text_words == source_words
    assert epubcheck_messages(tmp_path / f"{SEED_TEXT.stem}.epub") == []
