"""Fixity: SHA256SUMS checked by coreutils' sha256sum, BagIt bags checked by bagit.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import bagit  # type: ignore[import-untyped]
import pytest

from conftest import SEED
from exporter import __version__
from exporter.errors import OutputError
from exporter.fixity import MANIFEST_NAME, bagging_date, write_bag, write_manifest

TOOL = f"exporter {__version__}"
IDENTIFIER = "urn:uuid:1b4e28ba-2fa1-51d2-883f-0016d3cca427"
DATE = dt.date(2001, 2, 3)
RECORD = b"{\"format\": \"exporter-build/1\", \"builds\": []}\n"


@pytest.fixture()
def editions(seed_editions: dict[str, Path], tmp_path: Path) -> list[Path]:
    """A private copy of the seed's three real editions, free to tamper with."""
    folder = tmp_path / "dist"
    folder.mkdir()
    return [Path(shutil.copy(path, folder)) for path in seed_editions.values()]


def _sha256sum_check(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sha256sum", "-c", MANIFEST_NAME], cwd=folder, capture_output=True,
                          text=True, check=False, env={**os.environ, "LC_ALL": "C"})


def _tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _bagit_cli(bag: Path) -> subprocess.CompletedProcess[str]:
    # (the one installed beside this Python first: PATH may hold another tool's shim of it)
    script = shutil.which("bagit.py", path=os.pathsep.join([sysconfig.get_path("scripts"),
                                                            os.environ.get("PATH", "")]))
    assert script is not None, "bagit.py is not on PATH: pip install bagit"
    return subprocess.run([sys.executable, script, "--validate", str(bag)], capture_output=True,
                          text=True, check=False, env={**os.environ, "LC_ALL": "C"})


def _tree_digests(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def _bag_info(bag: Path) -> list[tuple[str, str]]:
    lines = (bag / "bag-info.txt").read_text(encoding="utf-8").splitlines()
    return [(key, value.strip()) for key, _, value in (line.partition(":") for line in lines)]


def _make_bag(target: Path, editions: list[Path],
              external_identifier: str | list[str] = IDENTIFIER) -> Path:
    return write_bag(target, editions, [("sources/pokrovsk.md", SEED)], RECORD,
                     external_identifier=external_identifier, bagging_date=DATE, tool=TOOL)


# --- SHA256SUMS -------------------------------------------------------------------------------


def test_sha256sum_accepts_the_manifest_of_a_real_build(editions: list[Path]) -> None:
    folder = editions[0].parent
    manifest = write_manifest(editions, folder)
    assert manifest == folder / MANIFEST_NAME
    result = _sha256sum_check(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(result.stdout.splitlines()) == sorted(f"{p.name}: OK" for p in editions)


def test_manifest_is_byte_for_byte_what_sha256sum_writes(editions: list[Path]) -> None:
    folder = editions[0].parent
    write_manifest(editions, folder)
    names = sorted(path.name for path in editions)
    expected = subprocess.run(["sha256sum", "--", *names], cwd=folder, capture_output=True,
                              check=True).stdout
    data = (folder / MANIFEST_NAME).read_bytes()
    assert data == expected
    assert b"\r" not in data and data.endswith(b"\n")
    assert all(re.fullmatch(r"[0-9a-f]{64}  [^/ ]+", line) for line in data.decode().splitlines())


def test_sha256sum_fails_on_a_tampered_edition(editions: list[Path]) -> None:
    folder = editions[0].parent
    write_manifest(editions, folder)
    pdf = folder / "pokrovsk.pdf"
    _tamper(pdf)
    result = _sha256sum_check(folder)
    assert result.returncode != 0
    assert "pokrovsk.pdf: FAILED" in result.stdout
    assert "pokrovsk.epub: OK" in result.stdout


def test_manifest_merges_articles_built_one_by_one(editions: list[Path]) -> None:
    folder = editions[0].parent
    other = folder / "other.html"
    other.write_bytes(b"<!DOCTYPE html>\n<p>another article</p>\n")
    write_manifest([other], folder)
    write_manifest(editions, folder)
    listed = [line.split("  ", 1)[1] for line in
              (folder / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()]
    assert listed == sorted(["other.html", *(path.name for path in editions)])

    # Rebuilding one article replaces its entry and keeps the others.
    other.write_bytes(b"<!DOCTYPE html>\n<p>another article, revised</p>\n")
    assert _sha256sum_check(folder).returncode != 0
    write_manifest([other], folder)
    result = _sha256sum_check(folder)
    assert result.returncode == 0, result.stdout
    assert len((folder / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()) == 4


def test_manifest_names_files_in_subfolders_relative_to_the_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    inner = tmp_path / "sub" / "a.html"
    inner.write_bytes(b"a")
    write_manifest([inner], tmp_path)
    assert (tmp_path / MANIFEST_NAME).read_text(encoding="utf-8").endswith("  sub/a.html\n")
    assert _sha256sum_check(tmp_path).returncode == 0


def test_manifest_escapes_backslashes_as_sha256sum_does(tmp_path: Path) -> None:
    odd = tmp_path / "back\\slash.html"
    odd.write_bytes(b"odd")
    write_manifest([odd], tmp_path)
    expected = subprocess.run(["sha256sum", odd.name], cwd=tmp_path, capture_output=True,
                              check=True).stdout
    assert (tmp_path / MANIFEST_NAME).read_bytes() == expected
    write_manifest([odd], tmp_path)  # read back and rewritten unchanged
    assert (tmp_path / MANIFEST_NAME).read_bytes() == expected
    assert _sha256sum_check(tmp_path).returncode == 0


def test_manifest_refuses_a_file_outside_its_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside.html"
    outside.write_bytes(b"x")
    (tmp_path / "dist").mkdir()
    with pytest.raises(OutputError, match="not inside"):
        write_manifest([outside], tmp_path / "dist")
    assert not (tmp_path / "dist" / MANIFEST_NAME).exists()


def test_manifest_refuses_a_malformed_existing_manifest(editions: list[Path]) -> None:
    folder = editions[0].parent
    (folder / MANIFEST_NAME).write_text("this is not a checksum line\n", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        write_manifest(editions, folder)
    assert caught.value.line == 1
    assert (folder / MANIFEST_NAME).read_text(encoding="utf-8") == "this is not a checksum line\n"


# --- BagIt ------------------------------------------------------------------------------------


def test_bag_validates_with_bagit_py_and_the_library(editions: list[Path], tmp_path: Path) -> None:
    bag = _make_bag(tmp_path / "bag", editions)
    result = _bagit_cli(bag)
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stderr
    loaded = bagit.Bag(str(bag))
    loaded.validate()
    assert loaded.is_valid()
    assert loaded.version_info == (1, 0)
    assert (bag / "bagit.txt").read_bytes() == (
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")


def test_bag_holds_editions_and_source_under_data(editions: list[Path], tmp_path: Path) -> None:
    bag = _make_bag(tmp_path / "bag", editions)
    payload = {path.relative_to(bag).as_posix() for path in (bag / "data").rglob("*")
               if path.is_file()}
    assert payload == {"data/editions/pokrovsk.html", "data/editions/pokrovsk.epub",
                       "data/editions/pokrovsk.pdf", "data/sources/pokrovsk.md"}
    for path in editions:
        assert (bag / "data" / "editions" / path.name).read_bytes() == path.read_bytes()
    assert (bag / "data" / "sources" / "pokrovsk.md").read_bytes() == SEED.read_bytes()


def test_bag_info_gives_identifier_date_oxum_and_agent(editions: list[Path],
                                                      tmp_path: Path) -> None:
    bag = _make_bag(tmp_path / "bag", editions)
    info = _bag_info(bag)
    files = [*editions, SEED]
    oxum = f"{sum(path.stat().st_size for path in files)}.{len(files)}"
    assert ("External-Identifier", IDENTIFIER) in info
    assert ("Bagging-Date", "2001-02-03") in info
    assert ("Payload-Oxum", oxum) in info
    assert ("Bag-Software-Agent", TOOL) in info
    assert dt.date.today().isoformat() not in (bag / "bag-info.txt").read_text(encoding="utf-8")


def test_bag_lists_one_identifier_per_article(editions: list[Path], tmp_path: Path) -> None:
    second = "urn:isbn:9780000000002"
    bag = _make_bag(tmp_path / "bag", editions, external_identifier=[IDENTIFIER, second])
    identifiers = [value for key, value in _bag_info(bag) if key == "External-Identifier"]
    assert identifiers == [IDENTIFIER, second]
    assert _bagit_cli(bag).returncode == 0


def test_bag_bytes_are_reproducible(editions: list[Path], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    first = _make_bag(tmp_path / "one" / "bag", editions)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    os.utime(editions[0], (0, 0))  # a source file's time must not matter
    second = _make_bag(Path("two"), editions)
    first_digests, second_digests = _tree_digests(first), _tree_digests(elsewhere / second)
    assert len(first_digests) == 4 + 7  # payload, and tag files with the build record
    assert first_digests == second_digests
    stamp = dt.datetime(2001, 2, 3, tzinfo=dt.UTC).timestamp()
    assert all(path.stat().st_mtime == stamp for path in first.rglob("*"))


def test_tag_manifests_are_sorted_and_complete(editions: list[Path], tmp_path: Path) -> None:
    bag = _make_bag(tmp_path / "bag", editions)
    for algorithm in ("sha256", "sha512"):
        lines = (bag / f"tagmanifest-{algorithm}.txt").read_text(encoding="utf-8").splitlines()
        names = [line.split("  ", 1)[1] for line in lines]
        assert names == ["bag-info.txt", "bagit.txt", "exporter-build.json",
                         "manifest-sha256.txt", "manifest-sha512.txt"]


def test_a_tampered_bag_fails_validation(editions: list[Path], tmp_path: Path) -> None:
    bag = _make_bag(tmp_path / "bag", editions)
    _tamper(bag / "data" / "editions" / "pokrovsk.epub")
    result = _bagit_cli(bag)
    assert result.returncode == 1
    assert "is invalid" in result.stderr
    assert not bagit.Bag(str(bag)).is_valid()


def test_a_non_empty_bag_folder_is_refused(editions: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "bag"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine\n", encoding="utf-8")
    with pytest.raises(OutputError, match="not empty"):
        _make_bag(folder, editions)
    assert [path.name for path in folder.iterdir()] == ["keep.txt"]
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_an_empty_bag_folder_is_used(editions: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "bag"
    folder.mkdir()
    _make_bag(folder, editions)
    assert _bagit_cli(folder).returncode == 0


def test_two_different_files_with_one_name_are_refused(editions: list[Path],
                                                       tmp_path: Path) -> None:
    clash = tmp_path / "elsewhere" / "pokrovsk.pdf"
    clash.parent.mkdir()
    clash.write_bytes(b"%PDF-1.7 not the same\n")
    with pytest.raises(OutputError, match="two different files"):
        _make_bag(tmp_path / "bag", [*editions, clash])
    assert not (tmp_path / "bag").exists()


def test_write_bag_prints_nothing(editions: list[Path], tmp_path: Path,
                                  capfd: pytest.CaptureFixture[str]) -> None:
    _make_bag(tmp_path / "bag", editions)
    with pytest.raises(OutputError):
        _make_bag(tmp_path / "bag", editions)
    assert capfd.readouterr() == ("", "")


def test_bagging_date_is_the_latest_document_date() -> None:
    assert bagging_date([dt.date(2025, 11, 3), None, dt.date(2024, 1, 1)]) == dt.date(2025, 11, 3)
    assert bagging_date([None]) == dt.date(1980, 1, 1)
