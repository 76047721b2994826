"""Trust, second pass: defaults files and sources that another user could plant or link.

Each test asserts the outcome an attacker wanted and did not get: no program run,
no file written outside the output folder, no secret in any edition.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SEED

OTHER_USER = 54321
SECRET = "TOP-SECRET-KEY-MATERIAL-7f3a"


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, check=False, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(SEED.parent.parent)})


def _files(folder: Path) -> list[str]:
    """The files under *folder*, leaving out the build records in .exporter-cache."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                  if path.is_file() and ".exporter-cache" not in path.parts)


needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="giving a folder to another user needs root")


@needs_root
def test_a_defaults_file_above_a_folder_of_another_user_is_never_read(tmp_path: Path) -> None:
    shared = tmp_path / "shared"  # as /tmp is: someone else's, where anyone may write
    shared.mkdir()
    (shared / "exporter.toml").write_text(f'report = "{tmp_path / "bashrc"}"\n'
                                          'format = "html"\n', encoding="utf-8")
    os.chown(shared / "exporter.toml", OTHER_USER, OTHER_USER)
    os.chown(shared, OTHER_USER, OTHER_USER)
    mine = shared / "mine"
    mine.mkdir()
    os.chown(mine, os.getuid(), os.getgid())
    shutil.copy(SEED, mine / "a.md")
    result = _run("build", "a.md", cwd=mine)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "bashrc").exists()
    assert _files(mine / "dist") == ["a.epub", "a.html", "a.pdf"]


@needs_root
def test_a_defaults_file_of_another_user_is_ignored_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "exporter.toml").write_text('format = "html"\noutput-dir = "planted"\n',
                                            encoding="utf-8")
    os.chown(tmp_path / "exporter.toml", OTHER_USER, OTHER_USER)
    shutil.copy(SEED, tmp_path / "a.md")
    result = _run("build", "a.md", "-f", "epub", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "exporter.toml: ignored, as it belongs to another user" in result.stderr
    assert not (tmp_path / "planted").exists() and (tmp_path / "dist" / "a.epub").is_file()


def test_the_search_stops_at_a_repository_root(tmp_path: Path) -> None:
    (tmp_path / "exporter.toml").write_text('format = "html"\n', encoding="utf-8")
    repo = tmp_path / "cloned"
    (repo / ".git").mkdir(parents=True)
    result = _run("config", cwd=repo)
    assert result.returncode == 0
    assert "No exporter.toml" in result.stdout and str(tmp_path / "exporter.toml") not in result.stdout


@pytest.mark.parametrize("line,key", [
    ('ace-dir = "tools"', "ace-dir"),
    ('report = "/root/.bashrc"', "report"),
    ('output-dir = "../../public"', "output-dir"),
    ('bag = "/tmp/bag"', "bag"),
    ('style = ["modern", "../.ssh/id_ed25519.css"]', "style"),
])
def test_a_defaults_file_may_not_reach_outside_its_folder(tmp_path: Path, line: str,
                                                          key: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "exporter.toml").write_text(line + "\n", encoding="utf-8")
    shutil.copy(SEED, project / "a.md")
    result = _run("build", "a.md", cwd=project)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: ") and f"'{key}'" in result.stderr
    assert "exporter.toml" in result.stderr and "Traceback" not in result.stderr
    assert _files(tmp_path) == ["project/a.md", "project/exporter.toml"]


def test_paths_in_a_defaults_file_are_its_own_folders(tmp_path: Path) -> None:
    """A relative path is read from the file's folder, wherever the build runs below it."""
    (tmp_path / "exporter.toml").write_text('output-dir = "out"\nformat = "html"\n'
                                            'style = ["modern", "house.css"]\n', encoding="utf-8")
    (tmp_path / "house.css").write_text("p { letter-spacing: 0.01em; }\n", encoding="utf-8")
    (tmp_path / "drafts").mkdir()
    shutil.copy(SEED, tmp_path / "drafts" / "a.md")
    result = _run("build", "a.md", cwd=tmp_path / "drafts")
    assert result.returncode == 0, result.stderr
    assert "letter-spacing: 0.01em" in (tmp_path / "out" / "a.html").read_text(encoding="utf-8")
    shown = _run("config", cwd=tmp_path / "drafts").stdout
    assert any(line.startswith("output-dir") and str(tmp_path / "exporter.toml") in line
               for line in shown.splitlines())


def test_a_broken_defaults_file_stops_only_the_commands_that_read_it(tmp_path: Path) -> None:
    (tmp_path / "exporter.toml").write_text("page-size = [broken\n", encoding="utf-8")
    assert _run("--help", cwd=tmp_path).returncode == 0
    assert _run("build", "--help", cwd=tmp_path).returncode == 0
    assert _run("proof", "--help", cwd=tmp_path).returncode == 0
    checked = _run("check", tmp_path / "missing.pdf", cwd=tmp_path)
    assert "exporter.toml" not in checked.stderr
    built = _run("build", SEED, cwd=tmp_path)
    assert built.returncode == 2 and built.stderr.startswith("Error: ")
    assert "exporter.toml" in built.stderr and "invalid TOML" in built.stderr


def test_a_link_out_of_a_folder_of_articles_is_not_built(tmp_path: Path) -> None:
    secret = tmp_path / "private" / "notes.md"
    secret.parent.mkdir()
    secret.write_text(f"# Keys\n\n{SECRET}\n", encoding="utf-8")
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(SEED, articles / "a.md")
    (articles / "innocent.md").symlink_to(secret)
    out = tmp_path / "out"
    result = _run("build", articles, "-o", out, "-f", "html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "innocent.md: leads outside the folder given; not built" in result.stderr
    assert _files(out) == ["a.html"]
    assert SECRET not in (out / "a.html").read_text(encoding="utf-8")
    strict = _run("build", articles, "-o", tmp_path / "strict", "-f", "html", "--strict",
                  cwd=tmp_path)
    assert strict.returncode == 10 and "innocent.md" in strict.stderr
    assert not (tmp_path / "strict").exists()


def test_a_book_holds_only_articles_beside_its_book_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text(f"# Keys\n\n{SECRET}\n", encoding="utf-8")
    book = tmp_path / "book" / "book.yaml"
    book.parent.mkdir()
    shutil.copy(SEED, book.parent / "a.md")
    book.write_text("title: Planted\narticles: [a.md, ../secret.md]\n", encoding="utf-8")
    result = _run("build", "--book", book, "-o", tmp_path / "out", "-f", "html", cwd=tmp_path)
    assert result.returncode == 6, result.stderr
    assert "'../secret.md' lies outside the book's folder" in result.stderr
    assert not (tmp_path / "out").exists()
