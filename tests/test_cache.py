"""One process, one cache: nothing left running, and a kept output is never a stale one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import exporter
from conftest import ROOT, SEED, run_cli
from exporter.session import Session

ARTICLE = "---\ntitle: Map\ndate: 2025-01-02\n---\n\nText.\n\n![A map](map.png)\n"


def _article(folder: Path, with_image: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "a.md"
    path.write_text(ARTICLE, encoding="utf-8")
    if with_image:
        Image.new("RGB", (40, 30), (200, 0, 0)).save(folder / "map.png")
    return path


def test_an_image_that_appears_after_a_build_is_built_in(tmp_path: Path) -> None:
    article = _article(tmp_path / "src", with_image=False)
    out = tmp_path / "out"
    first = run_cli("build", article, "-o", out, "-f", "html")
    assert first.exit_code == 0 and "image file not found" in first.stderr
    Image.new("RGB", (40, 30), (200, 0, 0)).save(article.parent / "map.png")
    second = run_cli("build", article, "-o", out, "-f", "html")
    assert "Wrote" in second.stderr and "data:image/png" in (out / "a.html").read_text()


def test_a_user_stylesheet_edited_is_seen(tmp_path: Path) -> None:
    article = _article(tmp_path / "src")
    sheet = tmp_path / "src" / "mine.css"
    sheet.write_text("p { color: #123456; }\n", encoding="utf-8")
    out = tmp_path / "out"
    assert "Wrote" in run_cli("build", article, "-o", out, "-f", "html", "--style", sheet).stderr
    assert "Up to date" in run_cli("build", article, "-o", out, "-f", "html", "--style", sheet).stderr
    sheet.write_text("p { color: #654321; }\n", encoding="utf-8")
    assert "Wrote" in run_cli("build", article, "-o", out, "-f", "html", "--style", sheet).stderr
    assert "#654321" in (out / "a.html").read_text()


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": "other"}', b"[1, 2]",
                                    b'{"format": "exporter-build-2", "key": 5}'])
def test_a_damaged_or_foreign_record_is_a_miss_never_an_error(tmp_path: Path, damage: bytes) -> None:
    article = _article(tmp_path / "src")
    out = tmp_path / "out"
    assert run_cli("build", article, "-o", out, "-f", "html").exit_code == 0
    (record,) = (out / ".exporter-cache" / "a").glob("*.json")
    record.write_bytes(damage)
    again = run_cli("build", article, "-o", out, "-f", "html")
    assert again.exit_code == 0 and "Wrote" in again.stderr, again.stderr


def test_a_record_names_no_path_of_the_machine(tmp_path: Path) -> None:
    article = _article(tmp_path / "src")
    out = tmp_path / "out"
    (tmp_path / "src" / "refused.md").write_text("![gone](missing.png)\n", encoding="utf-8")
    for source in (article.resolve(), (tmp_path / "src" / "refused.md").resolve()):
        assert run_cli("build", source, "-o", out.resolve(), "-f", "html").exit_code == 0
    records = list((out / ".exporter-cache").rglob("*.json"))
    assert len(records) == 2
    for record in records:
        text = record.read_text(encoding="utf-8")
        assert str(tmp_path) not in text and "/tmp" not in text, text
    refused = run_cli("build", (tmp_path / "src" / "refused.md").resolve(), "-o", out, "-f", "html")
    assert "Up to date" in refused.stderr and str(tmp_path / "src" / "refused.md") in refused.stderr


def test_a_record_that_cannot_be_written_is_a_note_not_a_failure(tmp_path: Path) -> None:
    article = _article(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".exporter-cache").write_text("in the way", encoding="utf-8")
    result = run_cli("build", article, "-o", out, "-f", "html")
    assert result.exit_code == 0, result.stderr
    assert (out / "a.html").is_file() and "build record not kept" in result.stderr


def test_older_records_of_an_article_are_replaced(tmp_path: Path) -> None:
    article = _article(tmp_path / "src")
    out = tmp_path / "out"
    for text in ("One.", "Two.", "Three."):
        article.write_text(ARTICLE.replace("Text.", text), encoding="utf-8")
        assert run_cli("build", article, "-o", out, "-f", "html").exit_code == 0
    assert len(list((out / ".exporter-cache" / "a").glob("*.json"))) == 1


@pytest.fixture()
def installed_copy(tmp_path: Path) -> Path:
    """A copy of the package as pip installs it (styles inside), on its own import path."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "exporter", site / "exporter",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "styles", site / "exporter" / "styles")
    return site


def _build_with(site: Path, source: Path, out: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-m", "exporter", "build", str(source), "-o", str(out),
                             "-f", "html"], env=env, capture_output=True, text=True, timeout=120,
                            cwd=site)  # (python -m puts the working folder first on the path)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_editing_an_installed_module_or_bundled_style_rebuilds(installed_copy: Path,
                                                              tmp_path: Path) -> None:
    article = _article(tmp_path / "src")
    out = tmp_path / "out"
    assert "Wrote" in _build_with(installed_copy, article, out)
    assert "Up to date" in _build_with(installed_copy, article, out)
    module = installed_copy / "exporter" / "editions" / "html.py"
    module.write_text(module.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert "Wrote" in _build_with(installed_copy, article, out)
    assert "Up to date" in _build_with(installed_copy, article, out)
    sheet = installed_copy / "exporter" / "styles" / "screen.css"
    sheet.write_text(sheet.read_text(encoding="utf-8") + "\n.edited { color: red; }\n",
                     encoding="utf-8")
    assert "Wrote" in _build_with(installed_copy, article, out)
    assert ".edited" in (out / "a.html").read_text(encoding="utf-8")


def test_no_process_outlives_a_build(tmp_path: Path) -> None:
    """The command's session holds no process once it has exited (no server, no helper)."""
    child = subprocess.Popen([sys.executable, "-m", "exporter", "build", str(SEED), "-o",
                              str(tmp_path), "-f", "epub", "-f", "html"],
                             start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    assert child.wait(timeout=120) == 0
    listing = subprocess.run(["ps", "-eo", "sid=,pid=,args="], capture_output=True, text=True,
                             check=True).stdout
    left = [line for line in listing.splitlines() if line.split()[0] == str(child.pid)]
    assert left == []


def test_builds_sharing_a_session_write_the_bytes_of_fresh_builds(tmp_path: Path) -> None:
    session = Session()
    fresh: dict[str, list[str]] = {}  # (each style's fresh build, made once)
    for style in ("classic", "modern", "classic"):
        shared = exporter.build(SEED, tmp_path / f"shared-{style}", style=style, session=session,
                                reuse=False)
        if style not in fresh:
            alone = exporter.build(SEED, tmp_path / f"fresh-{style}", style=style, reuse=False)
            fresh[style] = [o.sha256 for o in alone.outputs]
        assert [o.sha256 for o in shared.outputs] == fresh[style]


def test_a_session_is_bounded(tmp_path: Path) -> None:
    session = Session(limit=3)
    for number in range(6):
        session.keep("thing", number, lambda: object())
    assert len(session._kept["thing"]) == 3
    assert json.dumps(sorted(session._kept["thing"])) == "[3, 4, 5]"
    nothing = Session(limit=0)  # keeps nothing, and builds as any session does
    assert [nothing.keep("thing", 1, lambda n=n: n) for n in (1, 2)] == [1, 2]
    built = exporter.build(SEED, tmp_path / "none", formats=["epub"], session=nothing, reuse=False)
    assert built.outputs and not nothing._kept["cover"]
