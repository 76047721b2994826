"""``exporter verify``: archives that prove themselves by being built again, and refuse tricks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bagit
import pikepdf
import pytest
from PIL import Image

from conftest import SEED, run_cli

EXPORTER = [sys.executable, "-m", "exporter"]


def _verify(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXPORTER, "verify", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed and an article with an image and a house stylesheet (which imports another),
    built with ``--edition archive --bag bag``."""
    folder = tmp_path_factory.mktemp("archive")
    (folder / "art").mkdir()
    Image.new("RGB", (300, 200), (10, 120, 90)).save(folder / "art" / "map.png")
    (folder / "art" / "mapped.md").write_text(
        "---\ntitle: With a map\nauthor: Ana\ndate: 2024-02-01\n---\n\nText.\n\n![The map](map.png)\n",
        encoding="utf-8")
    (folder / "parts").mkdir()
    (folder / "parts" / "base.css").write_text("p { letter-spacing: 0.01em; }\n", encoding="utf-8")
    (folder / "house.css").write_text('@import "parts/base.css";\nh1 { color: #224; }\n',
                                      encoding="utf-8")
    result = subprocess.run([*EXPORTER, "build", str(SEED), "art/mapped.md", "--edition", "archive",
                             "--style", "house.css", "-o", "out", "--bag", "bag"],
                            cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return folder


def test_the_bag_keeps_every_input_and_validates(archive: Path) -> None:
    bag = archive / "bag"
    bagit.Bag(str(bag)).validate()
    kept = sorted(p.relative_to(bag / "data").as_posix() for p in (bag / "data").rglob("*")
                  if p.is_file() and "editions" not in p.parts)
    assert kept == ["sources/map.png", "sources/mapped.md", "sources/pokrovsk.md",
                    "styles/0/house.css", "styles/0/parts/base.css"]
    record = json.loads((bag / "exporter-build.json").read_text(encoding="utf-8"))
    assert [build["articles"] for build in record["builds"]] == [["sources/pokrovsk.md"],
                                                                 ["sources/mapped.md"]]
    assert all(build["stylesheets"] == ["styles/0/house.css"] for build in record["builds"])


def test_the_archive_pdf_attaches_every_input(archive: Path) -> None:
    with pikepdf.open(archive / "out" / "mapped.pdf") as pdf:
        names = sorted(pdf.attachments)
    assert names == ["exporter-build.json", "sources/map.png", "sources/mapped.md",
                     "styles/0/house.css", "styles/0/parts/base.css"]


def test_bag_and_pdfs_verify(archive: Path) -> None:
    result = _verify("bag", "out/mapped.pdf", "out/pokrovsk.pdf", "--json", cwd=archive)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["verdict"] for row in rows] == ["ok", "ok", "ok"]
    rebuilt = {check["file"] for row in rows for check in row["checks"]}
    assert {"data/editions/mapped.pdf", "data/editions/pokrovsk.epub", "mapped.pdf"} <= rebuilt


def test_one_changed_byte_in_the_bag_is_named(archive: Path, tmp_path: Path) -> None:
    import shutil

    bag = shutil.copytree(archive / "bag", tmp_path / "bag")
    edition = bag / "data" / "editions" / "mapped.html"
    data = bytearray(edition.read_bytes())
    data[200] ^= 1
    edition.write_bytes(bytes(data))
    result = _verify(bag, cwd=tmp_path)
    assert result.returncode == 13
    assert "data/editions/mapped.html" in result.stdout and "differs" in result.stdout
    assert "did not verify" in result.stderr


def test_an_edited_pdf_title_is_named(archive: Path, tmp_path: Path) -> None:
    with pikepdf.open(archive / "out" / "pokrovsk.pdf") as pdf:
        pdf.docinfo["/Title"] = "Another title"
        pdf.save(tmp_path / "pokrovsk.pdf")
    result = _verify(tmp_path / "pokrovsk.pdf", "--report", tmp_path / "report.json", cwd=tmp_path)
    assert result.returncode == 13
    rows = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [(c["file"], c["verdict"]) for c in rows[0]["checks"] if c["verdict"] != "ok"] == [
        ("pokrovsk.pdf", "differs")]


def test_a_folder_of_archives_is_verified_in_parallel(archive: Path) -> None:
    result = _verify(".", "--jobs", "2", cwd=archive)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Verified: ") == 3  # the bag and the two PDFs beside it


def _forged_pdf(tmp_path: Path, name: str, record: dict[str, object]) -> Path:
    """The seed's archive PDF with an extra attachment and a record of our own."""
    result = run_cli("build", SEED, "-o", tmp_path, "-f", "pdf", "--edition", "archive")
    assert result.exit_code == 0, result.output
    path = tmp_path / "pokrovsk.pdf"
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, b"x", filename=name)
        pdf.attachments["exporter-build.json"] = pikepdf.AttachedFileSpec(
            pdf, json.dumps(record).encode(), filename="exporter-build.json")
        pdf.save(path)
    return path


@pytest.mark.parametrize("name", ["../../escaped.md", "sources/../../escaped.md", "/tmp/escaped.md"])
def test_names_that_leave_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    record = {"format": "exporter-build/1", "inputs": {name: "0" * 64}, "articles": [name],
              "book": None, "stylesheets": [], "options": {}}
    pdf = _forged_pdf(tmp_path, name, record)
    result = _verify(pdf, cwd=tmp_path)
    assert result.returncode == 14
    assert "outside its sources and styles" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path.parent / "escaped.md").exists() and not Path("/tmp/escaped.md").exists()


def test_a_pdf_without_a_record_is_not_trusted(tmp_path: Path) -> None:
    result = run_cli("build", SEED, "-o", tmp_path, "-f", "pdf")
    assert result.exit_code == 0
    outcome = _verify(tmp_path / "pokrovsk.pdf", cwd=tmp_path)
    assert outcome.returncode == 14 and "holds no exporter-build.json" in outcome.stderr


def test_a_bag_with_a_link_is_refused(archive: Path, tmp_path: Path) -> None:
    import shutil

    bag = shutil.copytree(archive / "bag", tmp_path / "bag")
    os.symlink("/etc/hostname", bag / "data" / "sources" / "link.md")
    result = _verify(bag, cwd=tmp_path)
    assert result.returncode == 14 and "symbolic links" in result.stderr


def test_an_oversized_attachment_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exporter import verify
    from exporter.errors import VerifyError

    result = run_cli("build", SEED, "-o", tmp_path, "-f", "pdf", "--edition", "archive")
    assert result.exit_code == 0
    monkeypatch.setattr(verify, "MAX_FILE_BYTES", 1000)
    with pytest.raises(VerifyError, match="size limit"):
        verify.verify(tmp_path / "pokrovsk.pdf")


def test_other_tool_versions_are_said(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exporter import cache, verify

    real = cache.tool_versions
    monkeypatch.setattr(cache, "tool_versions", lambda: {**real(), "weasyprint": "99.0"})
    verdict = verify.verify(archive / "out" / "mapped.pdf")
    assert not verdict.ok  # the record the PDF carries names the versions that made it
    assert any("weasyprint" in note and "99.0" in note for note in verdict.notes)
