"""The export pipeline end to end: the seed article's three editions, checked by real tools."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pikepdf
import pytest
from lxml import etree
from lxml import html as lxml_html

from conftest import ROOT, SEED, SEED_TEXT, run_cli
from validators import epubcheck_messages, pdf_fonts, pdf_text

XHTML = "{http://www.w3.org/1999/xhtml}"


def _tokens(text: str) -> list[str]:
    """Words for order comparison: line-end hyphens joined, hyphens and quotes ignored."""
    text = text.replace("\u00ad", "").replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"[-\u2010]\n\s*", "", text)
    text = text.replace("-", "").replace("\u2010", "")
    return re.findall(r"[\w']+", text.lower())


def _seed_table() -> list[list[str]]:
    rows = [line for line in SEED_TEXT.read_text(encoding="utf-8").splitlines()
            if line.startswith("|") and not set(line) <= set("|- ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def _is_subsequence(needle: list[str], haystack: list[str]) -> tuple[bool, int]:
    position = 0
    for index, word in enumerate(needle):
        try:
            position = haystack.index(word, position) + 1
        except ValueError:
            return False, index
    return True, len(needle)


def test_build_writes_three_editions(seed_editions: dict[str, Path]) -> None:
    for path in seed_editions.values():
        assert path.stat().st_size > 1000


def test_epubcheck_reports_nothing(seed_editions: dict[str, Path]) -> None:
    assert epubcheck_messages(seed_editions["epub"]) == []


def test_pdf_text_holds_every_word_in_order(seed_editions: dict[str, Path]) -> None:
    source_words = _tokens(SEED_TEXT.read_text(encoding="utf-8"))
    pdf_words = _tokens(pdf_text(seed_editions["pdf"]))
    found, count = _is_subsequence(source_words, pdf_words)
    assert found, f"word {count} ({source_words[count]!r}) missing or out of order"


def test_html_and_epub_texts_hold_every_word(seed_editions: dict[str, Path]) -> None:
    source_words = _tokens(SEED_TEXT.read_text(encoding="utf-8"))
    html_words = _tokens(lxml_html.parse(str(seed_editions["html"])).getroot().text_content())
    assert _is_subsequence(source_words, html_words)[0]
    with zipfile.ZipFile(seed_editions["epub"]) as book:
        root = etree.fromstring(book.read("EPUB/article.xhtml"))
    assert _is_subsequence(source_words, _tokens("".join(root.itertext())))[0]


def _check_table(table: etree._Element, prefix: str = "") -> None:
    expected = _seed_table()
    header = [th.xpath("string()").strip() for th in table.iter(f"{prefix}th")]
    assert header == expected[0]
    assert all(th.get("scope") == "col" for th in table.iter(f"{prefix}th"))
    body = table.find(f"{prefix}tbody")
    assert body is not None
    rows = [[td.xpath("string()").strip() for td in tr.iter(f"{prefix}td")] for tr in body]
    assert rows == expected[1:]


def test_table_is_a_real_table_in_html(seed_editions: dict[str, Path]) -> None:
    tables = lxml_html.parse(str(seed_editions["html"])).getroot().findall(".//table")
    assert len(tables) == 1
    _check_table(tables[0])
    assert tables[0].find("caption") is not None


def test_table_is_a_real_table_in_epub(seed_editions: dict[str, Path]) -> None:
    with zipfile.ZipFile(seed_editions["epub"]) as book:
        root = etree.fromstring(book.read("EPUB/article.xhtml"))
    tables = list(root.iter(f"{XHTML}table"))
    assert len(tables) == 1
    _check_table(tables[0], XHTML)


def test_seed_structure_in_html(seed_editions: dict[str, Path]) -> None:
    root = lxml_html.parse(str(seed_editions["html"])).getroot()
    assert root.get("lang") == "en"
    assert root.findtext(".//title")
    assert len(root.findall(".//h1")) == 1
    assert len(root.findall(".//div[@class='body']//h2")) == 4
    lists = root.findall(".//ul")
    assert len(lists) == 1 and len(lists[0].findall("li")) == 3
    assert root.find(".//style") is not None and root.find(".//link") is None
    names = {meta.get("name") for meta in root.iter("meta")}
    assert {"description", "keywords", "dcterms.created"} <= names


def test_pdf_fonts_are_embedded_and_bundled(seed_editions: dict[str, Path]) -> None:
    fonts = pdf_fonts(seed_editions["pdf"])
    assert fonts and all(embedded for _, embedded in fonts), fonts
    assert any("Gentium" in name for name, _ in fonts)


def test_pdf_metadata_bookmarks_and_language(seed_editions: dict[str, Path]) -> None:
    with pikepdf.open(seed_editions["pdf"]) as pdf:
        info = pdf.docinfo
        assert str(info["/Title"]).startswith("The Battle for Pokrovsk")
        assert "Pokrovsk" in str(info["/Keywords"])
        assert str(info["/Subject"])
        assert str(pdf.Root.Lang) == "en"
        assert "/StructTreeRoot" in pdf.Root
        with pdf.open_outline() as outline:
            titles = [item.title for item in outline.root]
            nested = [child.title for item in outline.root for child in item.children]
    assert len(titles) + len(nested) == 5
    assert "Looking Ahead Amid Uncertainty" in titles + nested


def test_pdf_page_numbers_and_running_head(seed_editions: dict[str, Path]) -> None:
    pages = len(pikepdf.open(seed_editions["pdf"]).pages)
    assert pages >= 2
    # The folio is the page's last line as laid out (the contents' page numbers are not).
    folios = [[line for line in pdf_text(seed_editions["pdf"], "-layout", "-f", str(n), "-l", str(n))
               .splitlines() if line.strip()][-1].strip() for n in range(1, pages + 1)]
    assert not folios[0].isdigit(), "a folio on the opening page"
    assert folios[1:] == [str(number) for number in range(2, pages + 1)]
    second = pdf_text(seed_editions["pdf"], "-f", "2", "-l", "2")
    assert "The Battle for Pokrovsk" in second.replace("\n", " ")


def test_epub_metadata_is_stable_and_dated(seed_editions: dict[str, Path], tmp_path: Path) -> None:
    with zipfile.ZipFile(seed_editions["epub"]) as book:
        names = book.namelist()
        opf = etree.fromstring(book.read("EPUB/content.opf"))
        assert book.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
    assert names[0] == "mimetype"
    ns = {"dc": "http://purl.org/dc/elements/1.1/", "opf": "http://www.idpf.org/2007/opf"}
    identifier = opf.findtext(".//dc:identifier", namespaces=ns)
    assert identifier and identifier.startswith("urn:uuid:")
    modified = opf.xpath("//opf:meta[@property='dcterms:modified']/text()", namespaces=ns)
    assert modified == ["2025-11-03T00:00:00Z"]
    assert opf.findtext(".//dc:language", namespaces=ns) == "en"
    assert len(opf.findall(".//dc:subject", namespaces=ns)) == 4
    again = run_cli("build", SEED, "-o", tmp_path, "-f", "epub", "-f", "pdf")
    assert again.exit_code == 0
    assert (tmp_path / "pokrovsk.epub").read_bytes() == seed_editions["epub"].read_bytes()


def test_source_without_front_matter(tmp_path: Path) -> None:
    source = tmp_path / "field-notes.md"
    source.write_text("Just a paragraph, and *no* heading at all.\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out", "-f", "epub", "-f", "html",
                     env={"LC_ALL": "C", "LANG": "C"})
    assert result.exit_code == 0, result.output
    epub = tmp_path / "out" / "field-notes.epub"
    assert epubcheck_messages(epub) == []
    with zipfile.ZipFile(epub) as book:
        opf = book.read("EPUB/content.opf").decode()
    assert "<dc:title>Field notes</dc:title>" in opf
    assert "<dc:language>en</dc:language>" in opf


def test_title_from_first_heading(tmp_path: Path) -> None:
    source = tmp_path / "a.md"
    source.write_text("# A Winter in Kharkiv\n\nText.\n\n## Later\n\nMore.\n", encoding="utf-8")
    assert run_cli("build", source, "-o", tmp_path, "-f", "html").exit_code == 0
    root = lxml_html.parse(str(tmp_path / "a.html")).getroot()
    assert root.findtext(".//title") == "A Winter in Kharkiv"
    assert [h.text_content() for h in root.iter("h1")] == ["A Winter in Kharkiv"]


@pytest.mark.parametrize(("front", "heading", "kept"), [
    ('title: "Kharkiv\'s Winter"', "# Kharkiv's winter", False),  # the same words: said once
    ("title: [{type: main, text: Kharkiv}]", "Kharkiv\n=======", False),
    ("title: {text: Hello}", "# Hello", False),
    ("title: 'The *big* <b>one</b>'", "# The big one", False),
    ("title: Front Title", "# A Different Heading", True),  # a section of its own: kept
    ("title: Front Title", "A Different Heading\n===", True),
])
def test_a_leading_heading_beside_a_front_matter_title(tmp_path: Path, front: str, heading: str,
                                                       kept: bool) -> None:
    source = tmp_path / "a.md"
    source.write_text(f"---\n{front}\n---\n\n{heading}\n\nText.\n\n# Later\n\nMore.\n",
                      encoding="utf-8")
    assert run_cli("build", source, "-o", tmp_path, "-f", "html", "-f", "pdf").exit_code == 0
    root = lxml_html.parse(str(tmp_path / "a.html")).getroot()
    words = heading.split("\n")[0].lstrip("# ")
    sections = [h.text_content() for h in root.iter("h2")]
    assert sections == ([words, "Later"] if kept else ["Later"])
    assert (words in pdf_text(tmp_path / "a.pdf")) if kept else len(root.findall(".//h1")) == 1


def test_default_sources_and_output_folder(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "one.md").write_text("# One\n\nText.\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "exporter", "build", "-f", "html"],
                            cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dist" / "one.html").is_file()


def test_epub_only_build_does_not_import_weasyprint(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom exporter.cli import cli\n"
        f"cli(['build', {str(SEED)!r}, '-o', {str(tmp_path)!r}, '-f', 'epub', '-f', 'html',"
        " '--no-page-list'],"
        " standalone_mode=False)\n"
        "print(sorted(m for m in ('weasyprint', 'starlette', 'uvicorn') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"  # nor the preview's server
    assert (tmp_path / "pokrovsk.epub").is_file()


def test_version_help_and_module_entry() -> None:
    from exporter import __version__

    assert __version__ in run_cli("--version").output
    assert "build" in run_cli("--help").output
    result = subprocess.run([sys.executable, "-m", "exporter", "--help"], capture_output=True,
                            text=True, check=True)
    assert "Usage:" in result.stdout


def test_styles_pick_fonts(tmp_path: Path) -> None:
    result = run_cli("build", SEED, "-o", tmp_path, "-f", "pdf", "--style", "modern")
    assert result.exit_code == 0, result.output
    assert any("Inter" in name for name, _ in pdf_fonts(tmp_path / "pokrovsk.pdf"))


def test_user_stylesheet_is_layered_on_top(tmp_path: Path) -> None:
    css = tmp_path / "mine.css"
    css.write_text("h2 { color: rgb(200, 0, 0); }\n", encoding="utf-8")
    result = run_cli("build", SEED, "-o", tmp_path, "-f", "html", "--style", css)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "pokrovsk.html").read_text(encoding="utf-8")
    assert page.index("rgb(200, 0, 0)") > page.index("Gentium")


def test_editions_are_flushed_to_disk_before_they_replace_files_and_caches_are_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from exporter import build, output

    synced: list[str] = []
    flush = os.fsync

    def recording(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        flush(fd)

    monkeypatch.setattr(output.os, "fsync", recording)
    build(SEED, tmp_path, formats=["epub", "html"])
    assert len(list((tmp_path / ".exporter-cache" / "pokrovsk").glob("*.json"))) == 1  # (a record)
    # The staged files of the two editions, named after them; nothing of the cache.
    assert sorted(Path(name).name.split(".")[2] for name in synced) == ["epub", "html"]
    assert all(Path(name).parent == tmp_path for name in synced)
