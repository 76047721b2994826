"""``exporter verify``: archives that prove themselves by being built again, and refuse tricks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import pikepdf
import pytest
from PIL import Image

from conftest import SEED, run_cli

EXPORTER = [sys.executable, "-m", "exporter"]


def _verify(*args: str | Path, cwd: Path,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXPORTER, "verify", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False, env={**os.environ, **(env or {})})


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


def test_a_folder_of_archives_is_verified_in_parallel_leaving_no_temporary_files(
        archive: Path, tmp_path: Path) -> None:
    """Not WeasyPrint's copy of the fonts (8 MB) from each worker that rebuilt an archive."""
    result = _verify(".", "--jobs", "2", cwd=archive, env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Verified: ") == 3  # the bag and the two PDFs beside it
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def seed_archive_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's archive PDF, built once for the tests that copy and change it."""
    folder = tmp_path_factory.mktemp("seed-archive")
    result = run_cli("build", SEED, "-o", folder, "-f", "pdf", "--edition", "archive")
    assert result.exit_code == 0, result.output
    return folder / "pokrovsk.pdf"


def _forged_pdf(seed_archive_pdf: Path, tmp_path: Path, name: str,
                record: dict[str, object]) -> Path:
    """The seed's archive PDF with its source replaced by *name* and a record of our own."""
    path = tmp_path / "pokrovsk.pdf"
    shutil.copyfile(seed_archive_pdf, path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        del pdf.attachments["sources/pokrovsk.md"]
        pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, b"x", filename=name)
        pdf.attachments["exporter-build.json"] = pikepdf.AttachedFileSpec(
            pdf, json.dumps(record).encode(), filename="exporter-build.json")
        pdf.save(path)
    return path


@pytest.mark.parametrize("name", ["../../escaped.md", "sources/../../escaped.md", "/tmp/escaped.md"])
def test_names_that_leave_the_folder_are_refused(seed_archive_pdf: Path, tmp_path: Path,
                                                 name: str) -> None:
    record = {"format": "exporter-build/1", "inputs": {name: "0" * 64}, "articles": [name],
              "book": None, "stylesheets": [], "options": {}}
    pdf = _forged_pdf(seed_archive_pdf, tmp_path, name, record)
    result = _verify(pdf, cwd=tmp_path)
    assert result.returncode == 14
    assert "outside its sources and styles" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path.parent / "escaped.md").exists() and not Path("/tmp/escaped.md").exists()


def test_a_pdf_without_a_record_is_not_trusted(seed_editions: dict[str, Path],
                                               tmp_path: Path) -> None:
    shutil.copyfile(seed_editions["pdf"], tmp_path / "pokrovsk.pdf")  # (a default build)
    outcome = _verify(tmp_path / "pokrovsk.pdf", cwd=tmp_path)
    assert outcome.returncode == 14 and "holds no exporter-build.json" in outcome.stderr


def test_a_bag_with_a_link_is_refused(archive: Path, tmp_path: Path) -> None:
    bag = shutil.copytree(archive / "bag", tmp_path / "bag")
    os.symlink("/etc/hostname", bag / "data" / "sources" / "link.md")
    result = _verify(bag, cwd=tmp_path)
    assert result.returncode == 14 and "links or special files" in result.stderr


def test_an_oversized_attachment_is_refused(seed_archive_pdf: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from exporter import verify
    from exporter.errors import VerifyError

    pdf = shutil.copyfile(seed_archive_pdf, tmp_path / "pokrovsk.pdf")
    monkeypatch.setattr(verify, "MAX_FILE_BYTES", 1000)
    with pytest.raises(VerifyError, match="size limit"):
        verify.verify(pdf)


def test_other_tool_versions_are_said(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exporter import cache, verify

    real = cache.tool_versions
    monkeypatch.setattr(cache, "tool_versions", lambda: {**real(), "weasyprint": "99.0"})
    verdict = verify.verify(archive / "out" / "mapped.pdf")
    assert not verdict.ok  # the record the PDF carries names the versions that made it
    assert any("weasyprint" in note and "99.0" in note for note in verdict.notes)


def test_a_forged_bag_with_fresh_manifests_is_caught(archive: Path, tmp_path: Path) -> None:
    """Manifests anyone can regenerate prove nothing: the editions are compared with a rebuild."""
    bag = shutil.copytree(archive / "bag", tmp_path / "bag")
    (bag / "data" / "editions" / "mapped.html").write_text("forged", encoding="utf-8")
    (bag / "data" / "editions" / "extra.exe").write_text("junk", encoding="utf-8")
    bagit.Bag(str(bag)).save(manifests=True)
    rows = json.loads(_verify(bag, "--json", cwd=tmp_path).stdout)
    verdicts = {check["file"]: check["verdict"] for check in rows[0]["checks"]}
    assert verdicts["data/editions/mapped.html"] == "differs"
    assert verdicts["data/editions/extra.exe"] == "unexpected"
    assert verdicts["data/editions/pokrovsk.pdf"] == "ok"


def test_files_the_image_policy_refused_are_never_kept(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "notes.txt").write_text("notes", encoding="utf-8")
    (tmp_path / "art" / "leak.md").write_text(
        "# Leak\n\n![s](../secret.txt) ![n](notes.txt) ![h](/etc/hostname)\n", encoding="utf-8")
    result = run_cli("build", tmp_path / "art" / "leak.md", "--edition", "archive", "-f", "pdf",
                     "-o", tmp_path / "out", "--bag", tmp_path / "bag")
    assert result.exit_code == 0, result.output
    with pikepdf.open(tmp_path / "out" / "leak.pdf") as pdf:
        assert sorted(pdf.attachments) == ["exporter-build.json", "sources/leak.md"]
    kept = sorted(p.name for p in (tmp_path / "bag" / "data" / "sources").rglob("*"))
    assert kept == ["leak.md"]


def test_articles_from_two_folders_share_a_bag(tmp_path: Path) -> None:
    for name, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
        (tmp_path / name).mkdir()
        Image.new("RGB", (40, 40), colour).save(tmp_path / name / "img.png")
        (tmp_path / name / f"{name}.md").write_text(f"# {name}\n\n![{name}](img.png)\n",
                                                    encoding="utf-8")
    result = run_cli("build", tmp_path / "a" / "a.md", tmp_path / "b" / "b.md", "-f", "pdf",
                     "--edition", "archive", "-o", tmp_path / "out", "--bag", tmp_path / "bag")
    assert result.exit_code == 0, result.output
    assert _verify(tmp_path / "bag", cwd=tmp_path).returncode == 0


def test_a_piped_article_archives_and_verifies(tmp_path: Path) -> None:
    built = subprocess.run([*EXPORTER, "build", "-", "--edition", "archive", "-f", "pdf", "-o", "out"],
                           input=b"# Piped\n\nText.\n", cwd=tmp_path, capture_output=True,
                           timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    assert _verify(tmp_path / "out" / "stdin.pdf", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("options", [{"page_size": 5}, {"margins": [1, 2]},
                                     {"source_date_epoch": "x"}, {"formats": "pdf!"}])
def test_a_record_with_nonsense_options_is_refused_cleanly(seed_archive_pdf: Path, tmp_path: Path,
                                                          options: dict[str, object]) -> None:
    base = {"formats": ["pdf"], "style": "classic", "page_size": "A4", "margins": None,
            "edition": "archive", "source_date_epoch": None, "toc": None}
    import hashlib

    record = {"format": "exporter-build/1", "articles": ["sources/a.md"], "book": None,
              "inputs": {"sources/a.md": hashlib.sha256(b"x").hexdigest()},  # (what it holds)
              "stylesheets": [], "options": {**base, **options}}
    pdf = _forged_pdf(seed_archive_pdf, tmp_path, "sources/a.md", record)
    result = _verify(pdf, cwd=tmp_path)
    assert result.returncode == 14, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
