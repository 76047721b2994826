"""`exporter check` and `exporter build --check` from the command line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from conftest import SEED, run_cli
from validators import ACE_DIRS


def _ace_dir() -> str:
    return str(next((d for d in ACE_DIRS if (d / "node_modules").is_dir()), ACE_DIRS[0]))


@pytest.mark.slow  # (a JVM of its own per run, as the command starts one)
def test_check_passes_on_the_projects_own_outputs(seed_editions: dict[str, Path]) -> None:
    result = run_cli("check", seed_editions["epub"], seed_editions["pdf"], "--json",
                     "--ace-dir", _ace_dir())
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)
    assert not [f for f in findings if f["severity"] == "error"]
    assert {"code", "severity", "file", "message"} <= set(findings[0])


@pytest.mark.slow  # (a JVM of its own per run, as the command starts one)
def test_check_fails_on_an_epub_missing_a_manifest_file(seed_editions: dict[str, Path],
                                                       tmp_path: Path) -> None:
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(seed_editions["epub"]) as good, zipfile.ZipFile(broken, "w") as bad:
        for info in good.infolist():
            if not info.filename.endswith("book.css"):
                bad.writestr(info, good.read(info))
    result = run_cli("check", broken, "--json", "--ace-dir", _ace_dir())
    assert result.exit_code == 12
    codes = {f["code"] for f in json.loads(result.stdout) if f["severity"] == "error"}
    assert "RSC-001" in codes


def test_build_check_validates_what_it_built(tmp_path: Path) -> None:
    result = run_cli("build", SEED, "-o", tmp_path, "-f", "pdf", "--check")
    assert result.exit_code == 0, result.output
    assert "PDF-UA-ID" in result.stderr and "0 errors" in result.stderr
