"""Bad input: one ``Error:`` line naming the file, a non-zero exit, no traceback, no output."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from conftest import SEED, run_cli


def _assert_clean_failure(result, out: Path, *, names: str | None, exit_code: int | None = None,
                          says: str | None = None) -> str:
    assert result.exit_code not in (0, None), result.output
    if exit_code is not None:
        assert result.exit_code == exit_code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    if names is not None:
        assert names in errors[0]
    if says is not None:
        assert says in errors[0]
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())
    return errors[0]


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.md"
    result = run_cli("build", missing, "-o", tmp_path / "out")
    _assert_clean_failure(result, tmp_path / "out", names="nowhere.md", exit_code=4,
                          says="no such file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file; covered by the folder case")
def test_unreadable_file(tmp_path: Path) -> None:
    source = tmp_path / "secret.md"
    source.write_text("# x\n", encoding="utf-8")
    source.chmod(0)
    result = run_cli("build", source, "-o", tmp_path / "out")
    _assert_clean_failure(result, tmp_path / "out", names="secret.md", says="permission")


def test_folder_that_is_not_an_article(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    result = run_cli("build", folder, "-o", tmp_path / "out")
    _assert_clean_failure(result, tmp_path / "out", names="empty", exit_code=2)


def test_not_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    source = tmp_path / "latin1.md"
    source.write_bytes("# Caf\u00e9\n\nna\u00efve\n".encode("latin-1"))
    result = run_cli("build", source, "-o", tmp_path / "out")
    line = _assert_clean_failure(result, tmp_path / "out", names="latin1.md", exit_code=4)
    assert "offset 5" in line and "0xe9" in line


def test_broken_front_matter_names_the_line(tmp_path: Path) -> None:
    source = tmp_path / "broken.md"
    source.write_text("---\ntitle: fine\ndate: [unclosed\nlanguage: en\n---\n\nText\n",
                      encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out")
    line = _assert_clean_failure(result, tmp_path / "out", names="broken.md", exit_code=5)
    assert "broken.md:" in line
    reported = int(line.split("broken.md:")[1].split(":")[0])
    assert reported in (3, 4, 5)


def test_front_matter_never_closed(tmp_path: Path) -> None:
    source = tmp_path / "open.md"
    source.write_text("---\ntitle: x\n\nText\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out")
    _assert_clean_failure(result, tmp_path / "out", names="open.md:1", exit_code=5)


def test_invalid_metadata_value(tmp_path: Path) -> None:
    source = tmp_path / "lang.md"
    source.write_text("---\nlanguage: not a language\n---\n\nText\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out")
    _assert_clean_failure(result, tmp_path / "out", names="lang.md", says="BCP 47")


def test_unknown_format(tmp_path: Path) -> None:
    result = run_cli("build", SEED, "-o", tmp_path / "out", "-f", "docx")
    _assert_clean_failure(result, tmp_path / "out", names=None, exit_code=2, says="docx")


def test_unknown_style(tmp_path: Path) -> None:
    result = run_cli("build", SEED, "-o", tmp_path / "out", "--style", "baroque")
    _assert_clean_failure(result, tmp_path / "out", names=None, exit_code=2, says="baroque")


def test_missing_user_stylesheet(tmp_path: Path) -> None:
    result = run_cli("build", SEED, "-o", tmp_path / "out", "--style", tmp_path / "gone.css")
    _assert_clean_failure(result, tmp_path / "out", names="gone.css", exit_code=2)


def test_bad_page_size(tmp_path: Path) -> None:
    result = run_cli("build", SEED, "-o", tmp_path / "out", "--page-size", "huge")
    _assert_clean_failure(result, tmp_path / "out", names=None, exit_code=2, says="huge")


def test_output_folder_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run_cli("build", SEED, "-o", blocker / "out", "-f", "html")
    assert result.exit_code == 8, result.output
    assert result.stderr.startswith("Error:") and "Traceback" not in result.output
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_one_bad_source_does_not_stop_the_others(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"\xff\xfe broken")
    result = run_cli("build", bad, SEED, "-o", tmp_path / "out", "-f", "html")
    assert result.exit_code != 0
    assert (tmp_path / "out" / "pokrovsk.html").is_file()
    assert not (tmp_path / "out" / "bad.html").exists()
    assert "bad.md" in result.stderr and "Traceback" not in result.output


def test_a_failed_article_leaves_no_bag_and_the_batch_status(tmp_path: Path) -> None:
    """A bag lacking an article would mislead an archivist: none is written, the rest is."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nText.\n", encoding="utf-8")
    (folder / "baddate.md").write_text("---\ndate: 2025-02-30\n---\n\nText.\n", encoding="utf-8")
    out, bag = tmp_path / "out", tmp_path / "bag"
    result = run_cli("build", folder, "-o", out, "-f", "html", "-f", "epub", "--bag", bag,
                     "--manifest", "--report", tmp_path / "report.json", "--catalog")
    assert result.exit_code == 1, result.output
    assert not bag.exists()
    said = [line for line in result.stderr.splitlines() if line.startswith(f"Error: {bag}")]
    assert len(said) == 1 and "baddate.md" in said[0] and "not written" in said[0], result.stderr
    assert (out / "SHA256SUMS").read_text(encoding="utf-8").count("good.") == 2
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [entry["status"] for entry in report["sources"]] == ["failed", "built"]
    assert "good.epub" in (out / "catalog.xml").read_text(encoding="utf-8")


def test_verify_of_a_file_that_is_no_pdf_says_so_once(tmp_path: Path) -> None:
    (tmp_path / "junk.pdf").write_text("hi\n", encoding="utf-8")
    result = run_cli("verify", tmp_path / "junk.pdf")
    _assert_clean_failure(result, tmp_path / "out", names="junk.pdf", exit_code=14,
                          says="cannot be read as a PDF")


def test_verify_of_a_missing_archive(tmp_path: Path) -> None:
    result = run_cli("verify", tmp_path / "nowhere.pdf")
    _assert_clean_failure(result, tmp_path / "out", names="nowhere.pdf", exit_code=14,
                          says="no such file")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    from exporter.errors import SourceError

    with pytest.raises(SourceError):
        run_cli("build", tmp_path / "nowhere.md", "--debug")


def test_no_partial_file_when_pdf_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exporter.editions import pdf
    from exporter.errors import RenderError

    def explode(*args: object, **kwargs: object) -> None:
        raise RenderError("simulated failure")

    monkeypatch.setattr(pdf, "render_pdf", explode)
    out = tmp_path / "out"
    result = run_cli("build", SEED, "-o", out)
    _assert_clean_failure(result, out, names=None, exit_code=9, says="simulated failure")


def test_a_failed_rename_puts_the_earlier_outputs_back(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from exporter import output

    out = tmp_path / "out"
    assert run_cli("build", SEED, "-o", out, "-f", "html", "-f", "epub").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    real_replace = os.replace

    def failing_replace(source: str, target: object) -> None:
        if str(target).endswith(".epub"):
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(output.os, "replace", failing_replace)
    result = run_cli("build", SEED, "-o", out, "-f", "html", "-f", "epub", "--style", "modern")
    assert result.exit_code == 8 and "no space left" in result.stderr
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before


def test_two_articles_of_one_name_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / "c" / folder).mkdir(parents=True)
        (tmp_path / "c" / folder / "x.md").write_text(SEED.read_text(encoding="utf-8"),
                                                       encoding="utf-8")
    result = run_cli("build", tmp_path / "c", "-o", tmp_path / "out", "-f", "html")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'c' / 'a' / 'x.md'} and {tmp_path / 'c' / 'b' / 'x.md'} would both "
        f"write {tmp_path / 'out' / 'x'}.*; rename one, or build them into different folders"]
    assert not (tmp_path / "out").exists()


def test_front_matter_as_people_write_it_is_read(tmp_path: Path) -> None:
    """Tabs between a key and its value or before a comment, a tab inside a value, a question
    mark in a list: YAML allows them all, and so does the build."""
    source = tmp_path / "tabs.md"
    source.write_text("---\ntitle:\tTabbed\tTitle\t# aligned\nauthor:\t\tA. Writer\n"
                      "subjects: [Who won?, Pokrovsk]\n---\nBody.\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out", "-f", "epub", "--no-page-list")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "out" / "tabs.epub") as epub:
        opf = epub.read("EPUB/content.opf").decode()
    assert "<dc:title>Tabbed Title</dc:title>" in opf and ">A. Writer</dc:creator>" in opf
    assert "<dc:subject>Who won?</dc:subject>" in opf


@pytest.mark.parametrize(("front_matter", "line", "says"), [
    ("title: Fine\nsubtitle: @handle\n", 3, "found character '@' that cannot start any token"),
    # A tab may separate (YAML allows it, libyaml reads it), never indent.
    ("title: Fine\nsubjects:\n\t- war\n", 4, "found character '\\t' that cannot start any token"),
])
def test_a_yaml_error_names_the_character_and_its_line(tmp_path: Path, front_matter: str, line: int,
                                                      says: str) -> None:
    source = tmp_path / "odd.md"
    source.write_text(f"---\n{front_matter}---\nBody.\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out")
    error = _assert_clean_failure(result, tmp_path / "out", names=f"{source}:{line}:", exit_code=5,
                                  says="invalid YAML")
    assert says in error


def test_the_readme_lists_every_exit_status_errors_defines() -> None:
    """The README's table and ``errors.py`` (where every status is defined) name the same ones."""
    import re

    from exporter import errors

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| exit | meaning |"):].split("\n\n", 1)[0]
    listed = {int(number) for number in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    defined = {value for name, value in vars(errors).items() if name.isupper()
               and isinstance(value, int)} | {cls.exit_code for cls in vars(errors).values()
                                              if isinstance(cls, type) and cls is not
                                              errors.ExporterError
                                              and issubclass(cls, errors.ExporterError)}
    assert listed == defined | {0}
    # The base class's own status is for none: every failure raised is of a kind with its own.
    package = Path(errors.__file__).parent
    assert not [path for path in package.rglob("*.py")
                if "raise ExporterError(" in path.read_text(encoding="utf-8")]


def test_a_book_file_whose_articles_are_not_a_list(tmp_path: Path) -> None:
    (tmp_path / "book.yaml").write_text("title: A book\narticles: one.md\n", encoding="utf-8")
    (tmp_path / "one.md").write_text("# One\n\nText.\n", encoding="utf-8")
    result = run_cli("build", "--book", tmp_path / "book.yaml", "-o", tmp_path / "out")
    _assert_clean_failure(result, tmp_path / "out", names="book.yaml", exit_code=5,
                          says="'articles' must be a list of file names")
