"""Habits users bring: pipes, a defaults file, completion, the Python API, batches, reuse."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

import exporter
from conftest import ROOT, SEED, run_cli
from exporter.errors import ExporterError, SourceError

EXPORTER = [sys.executable, "-m", "exporter"]


def _run(*args: str | Path, cwd: Path | None = None, stdin: bytes | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*EXPORTER, *map(str, args)], input=stdin, capture_output=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, check=False, timeout=300)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt", ["html", "epub", "pdf"])
def test_pipe_round_trip_gives_the_same_bytes_as_a_file_build(seed_editions: dict[str, Path],
                                                              fmt: str) -> None:
    piped = _run("build", "-", "-f", fmt, "-o", "-", stdin=SEED.read_bytes(), cwd=SEED.parent)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stderr.decode().count("Wrote") == 0
    assert piped.stdout == seed_editions[fmt].read_bytes()  # (the session's file build)


def test_pipe_needs_a_single_format(tmp_path: Path) -> None:
    result = _run("build", SEED, "-o", "-")
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.decode().startswith("Error:")


def test_stdin_into_a_folder(tmp_path: Path) -> None:
    result = _run("build", "-", "-f", "html", "-o", tmp_path, stdin=b"# Piped\n\nText.\n")
    assert result.returncode == 0, result.stderr.decode()
    assert "<title>Piped</title>" in (tmp_path / "stdin.html").read_text(encoding="utf-8")


def test_stdin_errors_name_stdin() -> None:
    result = _run("build", "-", "-f", "html", "-o", "-", stdin=b"\xff\xfe")
    assert result.returncode == 4 and result.stdout == b""
    assert result.stderr.decode().startswith("Error: <stdin>: not valid UTF-8")


@pytest.mark.parametrize("output", ["-", "out"])
def test_a_closed_standard_input_is_the_sources_error(tmp_path: Path, output: str) -> None:
    result = subprocess.run([*EXPORTER, "build", "-", "-f", "html", "-o", output], cwd=tmp_path,
                            stdin=None, capture_output=True, check=False, timeout=120,
                            preexec_fn=lambda: os.close(0))
    assert result.returncode == 4 and result.stdout == b"", result.stderr
    assert result.stderr.decode() == "Error: <stdin>: standard input is closed; nothing was built\n"
    assert list(tmp_path.iterdir()) == []


def _page_width_mm(pdf: Path) -> float:
    with pikepdf.open(pdf) as document:
        box = document.pages[0].MediaBox
        return round(float(box[2] - box[0]) * 25.4 / 72)


def test_defaults_file_and_command_line_precedence(tmp_path: Path) -> None:
    (tmp_path / "exporter.toml").write_text('page-size = "A5"\nformat = "pdf"\n'
                                            'output-dir = "out"\n', encoding="utf-8")
    shutil.copy(SEED, tmp_path / "a.md")
    from_file = _run("build", "a.md", cwd=tmp_path)
    assert from_file.returncode == 0, from_file.stderr.decode()
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) \
        == ["a.pdf"]
    assert _page_width_mm(tmp_path / "out" / "a.pdf") == 148
    overridden = _run("build", "a.md", "--page-size", "A4", "-o", "cli", cwd=tmp_path)
    assert overridden.returncode == 0
    assert _page_width_mm(tmp_path / "cli" / "a.pdf") == 210


def test_pyproject_table_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.exporter]\n'
                                             'style = "modern"\n', encoding="utf-8")
    (tmp_path / "sub").mkdir()
    result = _run("config", cwd=tmp_path / "sub")
    assert result.returncode == 0
    line = next(x for x in result.stdout.decode().splitlines() if x.startswith("style "))
    assert "modern" in line and str(tmp_path / "pyproject.toml") in line
    default = next(x for x in result.stdout.decode().splitlines() if x.startswith("page-size "))
    assert '"A4"' in default and default.rstrip().endswith("default")


def test_unknown_key_in_defaults_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "exporter.toml").write_text('paper = "A5"\n', encoding="utf-8")
    result = _run("build", SEED, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2 and "exporter.toml" in stderr and "'paper'" in stderr
    assert "Traceback" not in stderr and not (tmp_path / "dist").exists()


@pytest.mark.parametrize(("setting", "said"), [
    ('jobs = "two"', "'jobs': 'two' is not a valid integer range."),
    ("timeout = -5", "'timeout': -5.0 is not in the range 0<=x<=10000000."),
    ('page-size = "A7"', "page size 'A7' is not one of"),
    ("margins = 20", "margin '20' needs a unit")])
def test_a_bad_value_in_the_defaults_file_is_named_with_the_file(tmp_path: Path, setting: str,
                                                                  said: str) -> None:
    """Click's words named an option nobody typed (-j), and a page size's error no file at all."""
    (tmp_path / "exporter.toml").write_text(setting + "\n", encoding="utf-8")
    result = _run("build", SEED, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith(f"Error: {tmp_path / 'exporter.toml'}: {said}"), result.stderr
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize("shell,marker", [("bash", "complete -o"), ("zsh", "compdef"),
                                          ("fish", "complete --no-files")])
def test_completion_scripts(shell: str, marker: str) -> None:
    result = subprocess.run(["exporter"], capture_output=True, text=True, check=False,
                            env={**os.environ, "_EXPORTER_COMPLETE": f"{shell}_source"})
    assert result.returncode == 0 and marker in result.stdout


def test_python_api_matches_the_cli(tmp_path: Path) -> None:
    result = exporter.build(SEED, output_dir=tmp_path / "api", formats=["epub", "html"],
                            style="modern")
    assert [o.format for o in result.outputs] == ["epub", "html"]
    cli = run_cli("build", SEED, "-o", tmp_path / "cli", "-f", "epub", "-f", "html",
                  "--style", "modern")
    assert cli.exit_code == 0
    for output in result.outputs:
        assert output.sha256 == _sha(tmp_path / "cli" / output.path.name)
        assert output.size == output.path.stat().st_size
    with pytest.raises(SourceError):
        exporter.build(tmp_path / "missing.md", output_dir=tmp_path)
    many = exporter.build_many([SEED, tmp_path / "missing.md"], output_dir=tmp_path / "m",
                               formats=["html"])
    assert isinstance(many[0], exporter.BuildResult)
    assert isinstance(many[1].error, ExporterError)


def _batch(folder: Path, count: int) -> list[Path]:
    # The seed to its first heading: how a batch is handled is tested, not how long articles are.
    text = SEED.read_text(encoding="utf-8").split("\n## ")[0]
    paths = []
    for number in range(count):
        path = folder / f"article-{number:02d}.md"
        path.write_text(text.replace("title: \"The Battle", f"title: \"No. {number}: The Battle"),
                        encoding="utf-8")
        paths.append(path)
    return paths


def test_batch_of_twenty_with_one_broken(tmp_path: Path) -> None:
    sources = tmp_path / "articles"
    sources.mkdir()
    paths = _batch(sources, 20)
    paths[7].write_bytes(b"---\ntitle: [broken\n---\n\ntext\n")
    report = tmp_path / "report.json"
    result = _run("build", sources, "-o", tmp_path / "out", "-f", "html", "-f", "epub",
                  "--jobs", "2", "--report", report)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "19 of 20 articles built" in stderr and "article-07.md" in stderr
    assert "Traceback" not in stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))
    assert len(written) == 38 and not any(name.startswith("article-07") for name in written)
    record = json.loads(report.read_text(encoding="utf-8"))
    statuses = [entry["status"] for entry in record["sources"]]
    assert statuses.count("built") == 19 and statuses[7] == "failed"
    assert record["sources"][7]["error"]["line"] == 2
    first = record["sources"][0]["outputs"][0]
    assert first["sha256"] == _sha(Path(first["path"]))


def test_unchanged_rebuild_reuses_outputs_and_changes_are_seen(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: Map\ndate: 2025-01-02\n---\n\n![A map](map.png)\n",
                       encoding="utf-8")
    Image.new("RGB", (40, 30), (200, 0, 0)).save(tmp_path / "map.png")
    out = tmp_path / "out"
    assert "Wrote" in run_cli("build", article, "-o", out, "-f", "html").stderr
    again = run_cli("build", article, "-o", out, "-f", "html")
    assert "Up to date" in again.stderr and "Wrote" not in again.stderr
    Image.new("RGB", (40, 30), (0, 0, 200)).save(tmp_path / "map.png")
    assert "Wrote" in run_cli("build", article, "-o", out, "-f", "html").stderr
    (out / "a.html").write_text("tampered", encoding="utf-8")
    repaired = run_cli("build", article, "-o", out, "-f", "html")
    assert "Wrote" in repaired.stderr and "tampered" not in (out / "a.html").read_text()
    assert "Wrote" in run_cli("build", article, "-o", out, "-f", "html", "--force").stderr


def test_time_bound_per_article(tmp_path: Path) -> None:
    result = run_cli("build", SEED, "-o", tmp_path, "-f", "pdf", "--timeout", "0.01", "--force")
    assert result.exit_code == 9, result.output
    assert "took longer than" in result.stderr and "pokrovsk.md" in result.stderr
    assert not any(tmp_path.iterdir())


def test_builds_leave_no_temporary_files(tmp_path: Path) -> None:
    """Not WeasyPrint's copy of the fonts (8 MB a build), not from a worker stopped mid-build."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    (tmp_path / "b.md").write_text("# Another\n\nText.\n", encoding="utf-8")
    shutil.copy(SEED, tmp_path / "a.md")
    env = {"TMPDIR": str(scratch)}
    assert _run("build", tmp_path / "a.md", "-o", tmp_path / "one", cwd=tmp_path, env=env).returncode == 0
    assert _run("build", tmp_path, "-o", tmp_path / "all", "-j", "2", cwd=tmp_path,
                env=env).returncode == 0
    stopped = _run("build", tmp_path / "a.md", "-o", tmp_path / "late", "-f", "pdf", "--force",
                   "--timeout", "0.5", cwd=tmp_path, env=env)
    assert stopped.returncode == 9, stopped.stderr
    assert list(scratch.iterdir()) == []


def test_help_does_not_import_heavy_libraries() -> None:
    code = ("import sys\nfrom exporter.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('weasyprint', 'ebooklib', 'markdown', 'lxml', 'starlette',"
            " 'uvicorn', 'sse_starlette')"
            " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip().endswith("[]")


def test_config_shows_values_as_a_user_writes_them(tmp_path: Path) -> None:
    (tmp_path / "exporter.toml").write_text('output-dir = "out"\nformat = ["pdf"]\nstrict = true\n',
                                            encoding="utf-8")
    lines = _run("config", cwd=tmp_path).stdout.decode().splitlines()
    rows = {line.split()[0]: line.split(None, 1)[1] for line in lines if line.strip()}
    assert rows["output-dir"].startswith('"out" ') and rows["format"].startswith('["pdf"] ')
    assert rows["strict"].startswith("true ") and rows["margins"].startswith("(not set) ")
    assert "PosixPath" not in "\n".join(lines) and "UNSET" not in "\n".join(lines)


def test_config_ends_quietly_when_its_reader_goes_away(tmp_path: Path) -> None:
    process = subprocess.Popen([*EXPORTER, "config"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line
    error = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 141 and error == "", error


@pytest.mark.parametrize(("formats", "says"), [(["docx"], "unknown format 'docx'"),
                                               ([], "non-empty list")])
def test_the_api_names_the_valid_formats(tmp_path: Path, formats: list[str], says: str) -> None:
    with pytest.raises(ExporterError, match=says) as caught:
        exporter.build(SEED, tmp_path, formats=formats)
    assert "html, epub, pdf" in str(caught.value)


def test_the_api_takes_one_format_as_a_word_and_refuses_unknown_options(tmp_path: Path) -> None:
    result = exporter.build(SEED, tmp_path, formats="pdf")
    assert [output.path.name for output in result.outputs] == ["pokrovsk.pdf"]
    with pytest.raises(ExporterError, match=r"unknown option 'force'.*page_size"):
        exporter.build(SEED, tmp_path, force=True)


@pytest.mark.parametrize("umask", [0o077, 0o002])
def test_outputs_follow_the_umask(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        result = run_cli("build", SEED, "-o", tmp_path, "-f", "html", "--force")
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pokrovsk.html").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_binary_edition_is_not_written_to_a_terminal(tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        result = subprocess.run([*EXPORTER, "build", SEED, "-o", "-", "-f", "pdf"], stdout=follower,
                                stderr=subprocess.PIPE, cwd=tmp_path, timeout=120, check=False)
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("Error: '-o -' would write the binary PDF edition")


def test_a_closed_standard_output_is_an_output_error(tmp_path: Path) -> None:
    result = subprocess.run([*EXPORTER, "build", str(SEED), "-o", "-", "-f", "html"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path,
                            timeout=120, check=False, close_fds=True,
                            preexec_fn=lambda: os.close(1))
    assert result.returncode == 8
    assert result.stderr.decode().startswith("Error: -: cannot write to standard output")
