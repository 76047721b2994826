"""Byte-reproducible editions: same input, same bytes, whatever the clock, zone, locale or folder.

Every build runs the real command line in a fresh process (``python -m exporter
build``), so ``TZ``, ``LC_ALL``, ``PYTHONHASHSEED`` and the working folder
really take effect.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pikepdf
import pytest
from lxml import etree

from conftest import ROOT, SEED

FORMATS = ("html", "epub", "pdf")
OPF = "{http://www.idpf.org/2007/opf}"
# A zone with a fractional offset, so an hour-rounded or local-time stamp shows.
FAR_ZONE = "Asia/Kolkata" if Path("/usr/share/zoneinfo/Asia/Kolkata").exists() else "IST-5:30"
SETTINGS_A = {"TZ": "UTC", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "1"}
SETTINGS_B = {"TZ": FAR_ZONE, "LC_ALL": "C", "PYTHONHASHSEED": "2"}
YEAR_2001 = 978_307_200  # a file time far from any checkout's


def build(source: Path | str, out: Path | str, cwd: Path, settings: dict[str, str],
          *options: str) -> dict[str, str]:
    """Run ``python -m exporter build SOURCE -o OUT`` in *cwd*; return {file name: SHA-256}."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"SOURCE_DATE_EPOCH", "TZ", "LANG", "LANGUAGE"}
           and not key.startswith("LC_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(settings)
    result = subprocess.run([sys.executable, "-m", "exporter", "build", str(source), "-o",
                             str(out), *options], cwd=cwd, env=env, capture_output=True,
                            text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr
    return digests(cwd / out)


def digests(folder: Path) -> dict[str, str]:
    """{file name: SHA-256} of the files in *folder*."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.is_file()}


def relocated(source: Path, tmp_path: Path, name: str | None = None) -> tuple[Path, Path]:
    """A copy of *source* in another, deeper folder with an old file time; and a fresh cwd."""
    folder = tmp_path / "elsewhere" / "deeper"
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / (name or source.name)
    shutil.copyfile(source, copy)
    os.utime(copy, (YEAR_2001, YEAR_2001))
    cwd = tmp_path / "cwd-b"
    cwd.mkdir(exist_ok=True)
    return copy, cwd


def undated(tmp_path: Path) -> Path:
    """The seed article without its ``date:`` line."""
    text = SEED.read_text(encoding="utf-8")
    stripped = re.sub(r"(?m)^date:.*\n", "", text, count=1)
    assert stripped != text
    path = tmp_path / "undated" / "undated.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stripped, encoding="utf-8")
    return path


def epub_modified(epub: Path) -> str:
    """The ``dcterms:modified`` of an EPUB's package document."""
    with zipfile.ZipFile(epub) as book:
        name = next(n for n in book.namelist() if n.endswith(".opf"))
        root = etree.fromstring(book.read(name))
    values = [meta.text for meta in root.iter(f"{OPF}meta")
              if meta.get("property") == "dcterms:modified"]
    assert len(values) == 1
    return values[0] or ""


@pytest.fixture(scope="module")
def seed_in_a_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the seed's three editions built under settings A, from the checkout."""
    cwd = tmp_path_factory.mktemp("cwd-a")
    build(SEED, cwd / "out", cwd, SETTINGS_A)
    return cwd / "out"


@pytest.fixture(scope="module")
def seed_in_a(seed_in_a_folder: Path) -> dict[str, str]:
    """{file name: SHA-256} of the seed's three editions built under settings A."""
    return digests(seed_in_a_folder)


def test_all_editions_identical_across_zone_locale_and_folders(
    seed_in_a: dict[str, str], tmp_path: Path
) -> None:
    copy, cwd = relocated(SEED, tmp_path)
    in_b = build(os.path.relpath(copy, cwd), "dist-b", cwd, SETTINGS_B)
    assert sorted(seed_in_a) == [f"pokrovsk.{fmt}" for fmt in sorted(FORMATS)]
    assert in_b == seed_in_a


def _harfbuzz_subset_files() -> list[Path]:
    """The system's libharfbuzz-subset files, where it has them."""
    return sorted(path for folder in (Path("/usr/lib"), Path("/usr/lib64"), Path("/lib"))
                  if folder.is_dir() for path in folder.rglob("libharfbuzz-subset.so*")
                  if path.is_file() and not path.is_symlink())


def test_the_pdf_is_the_same_with_and_without_harfbuzz_subset(seed_in_a: dict[str, str],
                                                              tmp_path: Path) -> None:
    """Built again in a mount namespace where libharfbuzz-subset cannot be loaded.

    The default machine lacks the library that CI's Chromium brings in; WeasyPrint
    then subsets with fontTools, which this build takes on every machine anyway.
    """
    libraries = _harfbuzz_subset_files()
    if not libraries:  # the machine lacks it already: the first build is the case without
        pytest.skip("no libharfbuzz-subset here; every build here is the case without it")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("hiding a system library needs root and unshare")
    with_library = seed_in_a  # (a PDF built alone has the bytes of one built with the others)
    hide = "; ".join(f"mount --bind /dev/null {path}" for path in libraries)
    probe = ("import weasyprint.pdf.fonts as f; "
             "assert f.harfbuzz_subset is None, 'libharfbuzz-subset still loads'")
    script = (f"{hide} && {sys.executable} -c \"{probe}\" && "
              f"{sys.executable} -m exporter build {SEED} -o {tmp_path / 'without'} -f pdf")
    env = {**os.environ, "PYTHONPATH": str(ROOT), **SETTINGS_B}
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, capture_output=True,
                            text=True, check=False, timeout=300)
    if result.returncode != 0 and "unshare" in result.stderr:
        pytest.skip(f"no mount namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert "fontTools" not in result.stderr and "HarfBuzz" not in result.stderr
    without = hashlib.sha256((tmp_path / "without" / "pokrovsk.pdf").read_bytes()).hexdigest()
    assert without == with_library["pokrovsk.pdf"]


def test_pdfs_built_seconds_apart_are_the_same(seed_in_a_folder: Path, tmp_path: Path) -> None:
    """fontTools would date each font subset by the clock; the build dates it by the article.

    The first PDF is the module's; the second is built at least 1.5 s after it was written
    (its inode change time, which no build can set).
    """
    import time

    first = seed_in_a_folder / "pokrovsk.pdf"
    time.sleep(max(0.0, first.stat().st_ctime + 1.5 - time.time()))
    second = build(SEED, tmp_path / "second", tmp_path, SETTINGS_A, "-f", "pdf", "--force")
    assert second == {first.name: digests(seed_in_a_folder)[first.name]}


@pytest.mark.parametrize("edition", ["archive", "print"])
def test_pdf_editions_identical_across_zone_locale_and_folders(edition: str,
                                                               tmp_path: Path) -> None:
    cwd_a = tmp_path / "cwd-a"
    cwd_a.mkdir()
    in_a = build(SEED, tmp_path / "out-a", cwd_a, SETTINGS_A, "--edition", edition, "-f", "pdf")
    copy, cwd_b = relocated(SEED, tmp_path)
    in_b = build(copy, "out-b", cwd_b, SETTINGS_B, "--edition", edition, "-f", "pdf")
    assert list(in_a) == ["pokrovsk.pdf"]
    assert in_b == in_a


def test_source_date_epoch_is_ignored_when_the_front_matter_has_a_date(
    seed_in_a: dict[str, str], tmp_path: Path
) -> None:
    with_epoch = build(SEED, "out", tmp_path, {**SETTINGS_B, "SOURCE_DATE_EPOCH": "1234567890"})
    assert with_epoch == seed_in_a


def test_source_date_epoch_dates_an_undated_article(tmp_path: Path) -> None:
    source = undated(tmp_path)
    first = build(source, "one", tmp_path, {**SETTINGS_A, "SOURCE_DATE_EPOCH": "1700000000"})
    copy, cwd = relocated(source, tmp_path)
    again = build(copy, "again", cwd, {**SETTINGS_B, "SOURCE_DATE_EPOCH": "1700000000"})
    later = build(source, "later", tmp_path, {**SETTINGS_A, "SOURCE_DATE_EPOCH": "1800000000"})

    assert again == first
    assert all(later[name] != first[name] for name in first), "a new date must change every edition"
    assert epub_modified(tmp_path / "one" / "undated.epub") == "2023-11-14T22:13:20Z"
    assert epub_modified(tmp_path / "later" / "undated.epub") == "2027-01-15T08:00:00Z"
    html = (tmp_path / "later" / "undated.html").read_text(encoding="utf-8")
    assert '<meta name="dcterms.modified" content="2027-01-15T08:00:00Z"/>' in html
    with pikepdf.open(tmp_path / "one" / "undated.pdf") as pdf:
        assert str(pdf.docinfo["/ModDate"]) == "D:20231114221320Z"


def test_an_undated_article_without_source_date_epoch_never_uses_the_clock(
    tmp_path: Path,
) -> None:
    source = undated(tmp_path)
    first = build(source, "one", tmp_path, SETTINGS_A)
    copy, cwd = relocated(source, tmp_path)
    again = build(copy, "two", cwd, SETTINGS_B)
    assert again == first
    assert epub_modified(tmp_path / "one" / "undated.epub") == "1980-01-01T00:00:00Z"


def test_relative_links_do_not_tie_the_pdf_to_the_source_folder(tmp_path: Path) -> None:
    article = tmp_path / "first" / "linked.md"
    article.parent.mkdir()
    article.write_text("---\ntitle: Linked\ndate: 2024-02-29\n---\n\nSee [the notes](notes.html)"
                       " and [the start](#top).\n", encoding="utf-8")
    in_a = build(article, "out-a", tmp_path, SETTINGS_A, "-f", "pdf")
    copy, cwd = relocated(article, tmp_path)
    in_b = build(copy, "out-b", cwd, SETTINGS_B, "-f", "pdf")
    assert in_b == in_a
