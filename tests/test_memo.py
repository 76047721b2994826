"""An identical command with nothing changed is answered from its record, before any import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SEED
from exporter import memo

EXPORTER = [sys.executable, "-m", "exporter"]
_REPLAY = """import sys
from exporter import memo
lines = memo.replay(sys.argv[1:])
if lines is not None:
    print("\\n".join(lines), file=sys.stderr)
sys.exit(3 if lines is None else 0)
"""


def _exporter(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXPORTER, *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=300, env={**os.environ, **env})


def _replayed(argv: list[str], cwd: Path, **env: str) -> tuple[bool, str]:
    """Whether the record answers *argv* in *cwd*, and what that printed.

    Asked in a new process that finds the package as the command does: a record holds
    for one installation only (a checkout and an installed copy differ).
    """
    result = subprocess.run([sys.executable, "-c", _REPLAY, *argv], cwd=cwd, capture_output=True,
                            text=True, check=False, timeout=60, env={**os.environ, **env})
    assert result.returncode in (0, 3), result.stderr
    return result.returncode == 0, result.stderr


@pytest.fixture()
def built(tmp_path: Path) -> tuple[list[str], Path]:
    """A folder with one article, built once by the command."""
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED, tmp_path / "articles" / "pokrovsk.md")
    argv = ["build", "articles/pokrovsk.md", "-o", "out", "-f", "html"]
    first = _exporter(argv, tmp_path)
    assert first.returncode == 0, first.stderr
    return argv, tmp_path


def test_unchanged_command_is_answered_from_its_record(built: tuple[list[str], Path]) -> None:
    argv, folder = built
    replayed, printed = _replayed(argv, folder)
    assert replayed
    assert printed == "Up to date: out/pokrovsk.html (13 KiB)\n"
    # The command prints the same, and so does the ordinary build, which decides by itself.
    again = _exporter(argv, folder)
    assert again.returncode == 0 and again.stderr == printed
    ordinary = subprocess.run([sys.executable, "-c", "from exporter.cli import main; main()", *argv],
                              cwd=folder, capture_output=True, text=True, check=False)
    assert ordinary.stderr == printed


def test_a_new_file_time_alone_changes_nothing(built: tuple[list[str], Path]) -> None:
    argv, folder = built
    os.utime(folder / "articles" / "pokrovsk.md", (1, 1))
    assert _replayed(argv, folder)[0]


@pytest.mark.parametrize("change", ["source", "output", "defaults file", "environment",
                                    "other arguments", "other folder", "record", "pipe"])
def test_any_change_goes_to_an_ordinary_build(built: tuple[list[str], Path], change: str) -> None:
    argv, folder = built
    source, output = folder / "articles" / "pokrovsk.md", folder / "out" / "pokrovsk.html"
    cwd, env = folder, {}
    assert _replayed(argv, folder)[0]
    if change == "source":
        source.write_text(source.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    elif change == "output":
        output.write_bytes(output.read_bytes().replace(b"Pokrovsk", b"Pokrowsk", 1))
    elif change == "defaults file":
        (folder / "exporter.toml").write_text('style = "modern"\n', encoding="utf-8")
    elif change == "environment":
        env = {"SOURCE_DATE_EPOCH": "1700000000"}
    elif change == "other arguments":
        argv = [*argv, "--style", "modern"]
    elif change == "other folder":  # the record copied to where that folder's would be
        cwd = folder / "elsewhere"
        cwd.mkdir()
        (cwd / "out").symlink_to(folder / "out")
        (record,) = (folder / "out" / memo.FOLDER).iterdir()
        shutil.copy(record, memo.record_path("out", argv, str(cwd)))
    elif change == "record":
        for record in (folder / "out" / memo.FOLDER).iterdir():
            record.write_text("{not json", encoding="utf-8")
    elif change == "pipe":  # looked at without being opened, so nothing waits for a writer
        source.unlink()
        os.mkfifo(source)
    assert _replayed(argv, cwd, **env) == (False, "")


def test_a_changed_output_is_rebuilt_by_the_command(built: tuple[list[str], Path]) -> None:
    argv, folder = built
    output = folder / "out" / "pokrovsk.html"
    good = output.read_bytes()
    output.write_bytes(good.replace(b"Pokrovsk", b"Pokrowsk", 1))
    result = _exporter(argv, folder)
    assert result.returncode == 0 and result.stderr.startswith("Wrote: out/pokrovsk.html")
    assert output.read_bytes() == good


def test_a_folder_of_articles_notices_a_new_one(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in ("a", "b"):
        shutil.copy(SEED, folder / f"{name}.md")
    argv = ["build", "articles", "-f", "html", "-j", "1"]
    first = _exporter(argv, tmp_path)
    assert first.returncode == 0, first.stderr
    replayed, printed = _replayed(argv, tmp_path)  # default output folder, dist/
    assert replayed
    lines = printed.splitlines()
    assert lines[:2] == ["Up to date: dist/a.html (13 KiB)", "Up to date: dist/b.html (13 KiB)"]
    summary = first.stderr.splitlines()[-1].replace("(0 up to date)", "(2 up to date)")
    assert lines[2].rsplit(", in ", 1)[0] == summary.rsplit(", in ", 1)[0]
    shutil.copy(SEED, folder / "c.md")
    assert not _replayed(argv, tmp_path)[0]


def test_builds_with_side_work_keep_no_record(tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / "a.md")
    for extra in (["--manifest"], ["--force"], ["--report", "r.json"]):
        out = f"out{len(extra)}{extra[0]}"
        assert _exporter(["build", "a.md", "-f", "html", "-o", out, *extra], tmp_path).returncode == 0
        assert not (tmp_path / out / memo.FOLDER).exists()


def test_old_records_are_pruned(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    for number in range(memo.KEEP + 5):
        record = folder / f"{number:03d}.json"
        record.write_text("{}", encoding="utf-8")
        os.utime(record, ns=(number * 10**9, number * 10**9))
    memo.prune(str(folder))
    kept = sorted(path.name for path in folder.iterdir())
    assert kept == [f"{number:03d}.json" for number in range(5, memo.KEEP + 5)]


def test_a_source_edited_during_the_build_leaves_no_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import exporter.batch
    from exporter.cli import main

    source = tmp_path / "a.md"
    shutil.copy(SEED, source)
    real_build = exporter.batch.build

    def build_then_edit(*args: object, **kwargs: object) -> object:
        result = real_build(*args, **kwargs)  # type: ignore[arg-type]
        source.write_text(SEED.read_text(encoding="utf-8") + "\nAn edit.\n", encoding="utf-8")
        return result

    monkeypatch.setattr(exporter.batch, "build", build_then_edit)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["build", "a.md", "-o", "out", "-f", "html"])
    assert exit_.value.code == 0
    assert (tmp_path / "out" / "a.html").is_file()
    assert not (tmp_path / "out" / memo.FOLDER).exists()
    assert not memo.replay(["build", "a.md", "-o", "out", "-f", "html"])


def test_an_image_added_after_a_build_without_it_is_picked_up(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text(SEED.read_text(encoding="utf-8").replace(
        "\n## ", "\n![A map of the front](map.png)\n\n## ", 1), encoding="utf-8")
    argv = ["build", "a.md", "-o", "out", "-f", "html"]
    first = _exporter(argv, tmp_path)
    assert first.returncode == 0 and "image file not found" in first.stderr, first.stderr
    from PIL import Image

    Image.new("RGB", (40, 30), (200, 60, 40)).save(tmp_path / "map.png")
    second = _exporter(argv, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Wrote: out/a.html" in second.stderr
    assert "data:image/png" in (tmp_path / "out" / "a.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("sizes", [[0, 5], [memo.SMALL_HASH_BUDGET], [memo.SMALL_HASH_BUDGET + 1],
                                   [700_000, 700_000, 5]])
def test_files_get_the_sha256_hashlib_gives_whichever_implementation_hashes_them(
        tmp_path: Path, sizes: list[int]) -> None:
    import hashlib

    hasher = memo.Hasher()
    for number, size in enumerate(sizes):
        path = tmp_path / f"input-{number}.bin"
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        path.write_bytes(data)
        assert hasher.file(str(path)) == hashlib.sha256(data).hexdigest()
    assert hasher.file(str(tmp_path / "absent")) is None
    assert hasher.file(str(tmp_path)) == "folder"


def test_a_command_with_undecodable_bytes_in_its_arguments_is_recorded_and_replayed(tmp_path: Path) -> None:
    source = tmp_path / "a.md"
    shutil.copy(SEED, source)
    out = os.fsdecode(b"out-\xff")
    first = _exporter(["build", "a.md", "-f", "html", "-o", out], tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / out / "a.html").is_file()
    replayed, printed = _replayed(["build", "a.md", "-f", "html", "-o", out], tmp_path)
    assert replayed, printed
    assert printed.startswith("Up to date:"), printed
