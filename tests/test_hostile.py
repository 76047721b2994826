"""Hostile input (issue 6): nothing read outside the folder, no network, no hang, no crash.

Every case builds one article from ``tests/hostile/`` (or one generated here when
it is large) in a fresh folder ``article/``, beside a folder ``outside/`` of
canary files whose unique bytes must appear in no output, while a socket on
127.0.0.1 listens for a connection that must never come.  A refused input must
give one ``Error:`` line naming the file, its own exit status, no traceback and
no output file at all; an accepted one must give editions whose EPUB documents
are strict XML.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
import yaml
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from conftest import ROOT, run_cli
from exporter.session import Session
from validators import epubcheck_messages, pdf_text

CORPUS = Path(__file__).parent / "hostile"
#: Unique bytes that only the canary files hold.
TOKEN = f"CANARY-{secrets.token_hex(12)}"
XHTML = "{http://www.w3.org/1999/xhtml}"
DC = "{http://purl.org/dc/elements/1.1/}"
_STRICT_XML = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
_DATA_URI = re.compile(rb"data:[^,;\"')\s]*;base64,([A-Za-z0-9+/=]+)")


# --- the sandbox: article folder, canaries outside it, a listening socket ---------------------


def png(width: int, height: int, text: bytes = b"") -> bytes:
    """A PNG declaring *width* x *height*, written by hand: the pixels are never allocated."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"".join(b"\x00" + b"\x80\x40\x20" * min(width, 4) for _ in range(4)))
    extra = chunk(b"tEXt", b"Comment\x00" + text) if text else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", rows)
            + chunk(b"IEND", b""))


@dataclass
class Sandbox:
    root: Path
    article_dir: Path
    outside: Path
    out: Path
    listener: socket.socket

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def fill(self, text: str) -> str:
        return text.replace("@OUTSIDE@", str(self.outside)).replace("@PORT@", str(self.port))

    def place(self, name: str, data: bytes | str | None = None, folder: Path | None = None) -> Path:
        """Put corpus file *name* (or *data*) into the article folder, placeholders filled."""
        target = (folder or self.article_dir) / name
        if data is None:
            # Broken bytes in the corpus go through unchanged (surrogateescape).
            text = (CORPUS / name).read_bytes().decode("utf-8", "surrogateescape")
            data = self.fill(text).encode("utf-8", "surrogateescape")
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return target

    def build(self, source: Path, *args: str | Path, formats: tuple[str, ...] = ("html", "epub"),
              out: Path | None = None) -> Result:
        chosen = [part for name in formats for part in ("-f", name)]
        return run_cli("build", source, "-o", out or self.out, *chosen, *args)

    def connections(self) -> int:
        """How many connections reached the listener (it never accepts on its own)."""
        count = 0
        while True:
            try:
                connection, _ = self.listener.accept()
            except BlockingIOError:
                return count
            connection.close()
            count += 1


@pytest.fixture()
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    outside = tmp_path / "outside"
    article_dir = tmp_path / "article"
    outside.mkdir()
    article_dir.mkdir()
    (outside / "canary.txt").write_text(TOKEN + "\n", encoding="utf-8")
    (outside / "canary.png").write_bytes(png(2, 2, TOKEN.encode("ascii")))
    (outside / "canary.css").write_text(f'/* {TOKEN} */ p::before {{ content: "{TOKEN}"; }}\n',
                                        encoding="utf-8")
    (outside / "canary.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg"><text id="shape">{TOKEN}</text></svg>\n',
        encoding="utf-8")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    box = Sandbox(tmp_path, article_dir, outside, tmp_path / "out", listener)
    try:
        yield box
        assert box.connections() == 0, "the build connected to the network"
    finally:
        listener.close()


# --- what the outputs hold --------------------------------------------------------------------


def _blobs(out: Path) -> Iterator[tuple[str, bytes]]:
    """Every output file, every EPUB member, every PDF stream and text, every data: URL."""
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        pieces = [(str(path), path.read_bytes())]
        if path.suffix == ".epub":
            with zipfile.ZipFile(path) as book:
                pieces += [(f"{path}!{info.filename}", book.read(info)) for info in book.infolist()]
        elif path.suffix == ".pdf":
            with pikepdf.open(path) as pdf:
                for number, obj in enumerate(pdf.objects):
                    if isinstance(obj, pikepdf.Stream):
                        try:
                            pieces.append((f"{path}#{number}", obj.read_bytes()))
                        except pikepdf.PdfError:
                            pieces.append((f"{path}#{number}", obj.read_raw_bytes()))
            pieces.append((f"{path} text", pdf_text(path).encode("utf-8")))
        for name, data in pieces:
            yield name, data
            for match in _DATA_URI.finditer(data):
                yield f"{name} data: URL", base64.b64decode(match.group(1) + b"==")


def assert_no_canary(out: Path) -> None:
    for name, data in _blobs(out):
        assert TOKEN.encode("ascii") not in data, f"canary bytes in {name}"


def epub_documents(epub: Path) -> dict[str, etree._Element]:
    """Every XML member of the EPUB, parsed by a strict XML parser."""
    with zipfile.ZipFile(epub) as book:
        return {name: etree.fromstring(book.read(name), _STRICT_XML) for name in book.namelist()
                if name.endswith((".xhtml", ".opf", ".ncx", ".xml"))}


def body_markup(out: Path, stem: str) -> str:
    """The article bodies of the HTML and EPUB editions, as markup (head left out)."""
    parts = []
    html_file = out / f"{stem}.html"
    if html_file.exists():
        body = lxml_html.parse(str(html_file)).getroot().find("body")
        assert body is not None
        parts.append(lxml_html.tostring(body, encoding="unicode"))
    epub = out / f"{stem}.epub"
    if epub.exists():
        for name, root in epub_documents(epub).items():
            if re.search(r"/article\d*\.xhtml$", name):  # the article, not the cover or nav
                found = root.find(f"{XHTML}body")
                if found is not None:
                    parts.append(etree.tostring(found, encoding="unicode"))
    return "\n".join(parts)


def assert_built(box: Sandbox, result: Result, source: Path, formats: tuple[str, ...],
                 warns: tuple[str, ...] = ()) -> None:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "Error:" not in result.output, result.output
    for name in formats:
        assert (box.out / f"{source.stem}.{name}").stat().st_size > 0
    assert not list(box.out.rglob("*.part"))
    if "epub" in formats:
        epub_documents(box.out / f"{source.stem}.epub")
    for words in warns:
        assert re.search(rf"Warning: {re.escape(str(source))}:\d+: .*{words}", result.stderr), (
            words, result.stderr)
    assert_no_canary(box.out)


def assert_refused(box: Sandbox, result: Result, *, code: int, names: Path | str,
                   says: str, line: int | None = None) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [text for text in result.stderr.splitlines() if text.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    where = f"{names}:{line}:" if line is not None else str(names)
    assert where in errors[0], (where, errors[0])
    assert re.search(says, errors[0]), (says, errors[0])
    left = [p for p in box.out.rglob("*")] if box.out.exists() else []
    assert left == [], f"partial output: {left}"
    assert not list(box.root.rglob("*.part"))
    return errors[0]


# --- images and raw HTML that reach out of the folder ---------------------------------------


@pytest.mark.parametrize(("name", "line", "why"), [
    ("img-file-url.md", 3, "scheme this tool never reads"),
    ("img-dotdot.md", 5, "outside the article's folder"),
    ("img-absolute.md", 3, "image named by an absolute path not read"),
    ("img-encoded-dotdot.md", 3, "outside the article's folder"),
    ("img-symlink.md", 3, "outside the article's folder"),
    ("img-svg-external.md", 3, "not an image this tool can read"),
    ("img-svg-data-url.md", 3, "not an image this tool can read"),
])
def test_images_outside_the_folder_are_not_read(sandbox: Sandbox, name: str, line: int,
                                                 why: str) -> None:
    source = sandbox.place(name)
    (sandbox.article_dir / "link.png").symlink_to(sandbox.outside / "canary.png")
    sandbox.place("external.svg")
    formats = ("html", "epub", "pdf")
    result = sandbox.build(source, formats=formats)
    assert_built(sandbox, result, source, formats)
    assert f"Warning: {source}:{line}: " in result.stderr and why in result.stderr, result.stderr
    markup = body_markup(sandbox.out, source.stem)
    alt = re.search(r"!\[([^\]]+)\]", source.read_text(encoding="utf-8"))
    assert alt is not None
    assert f"[{alt.group(1)}]" in markup, "the alt text stands in for the image"
    assert "<img" not in markup


def test_remote_resources_are_not_fetched(sandbox: Sandbox) -> None:
    source = sandbox.place("network.md")
    formats = ("html", "epub", "pdf")
    result = sandbox.build(source, formats=formats)
    assert_built(sandbox, result, source, formats, warns=("remote image not fetched",))
    assert result.stderr.count("remote image not fetched") == 3, result.stderr
    assert sandbox.connections() == 0
    markup = body_markup(sandbox.out, source.stem)
    assert "<img" not in markup and "<link" not in markup and "style=" not in markup
    assert f'href="http://127.0.0.1:{sandbox.port}/page"' in markup, "plain links stay links"


@pytest.mark.parametrize(("name", "gone"), [
    ("raw-style.md", ("<style", "@import", "@font-face", "url(", "style=")),
    ("attachments.md", ("attachment", "<link", "file:", "../outside")),
    ("svg-inline.md", ("<svg", "<image", "<use", "<script", "iframe", "foreignObject")),
    ("scripts.md", ("<script", "alert", "onclick", "onmouseover", "onerror", "javascript",
                    "vbscript", "data:text", "<iframe", "<object", "<embed", "<form", "<input",
                    "<base", "http-equiv", "<video", "<source", "<math", "<noscript",
                    "<template")),
    ("external-entity.md", ("<!ENTITY", "<!DOCTYPE", "<?xml")),
])
def test_raw_html_that_reaches_out_is_dropped(sandbox: Sandbox, name: str,
                                              gone: tuple[str, ...]) -> None:
    source = sandbox.place(name)
    formats = ("html", "epub", "pdf")
    result = sandbox.build(source, formats=formats)
    assert_built(sandbox, result, source, formats)
    markup = body_markup(sandbox.out, source.stem)
    for text in gone:
        assert text not in markup, f"{text!r} survived in the body"
    with pikepdf.open(sandbox.out / f"{source.stem}.pdf") as pdf:
        assert len(pdf.attachments) == 0
        for page in pdf.pages:
            for annotation in page.get("/Annots", []):
                assert annotation.get("/Subtype") != "/FileAttachment"
                target = str(annotation.get("/A", {}).get("/URI", ""))
                assert not target.startswith(("file:", "javascript:")), target


def test_stray_markup_still_gives_strict_xml(sandbox: Sandbox) -> None:
    source = sandbox.place("entities-unclosed.md")
    formats = ("html", "epub", "pdf")
    result = sandbox.build(source, formats=formats)
    assert_built(sandbox, result, source, formats)
    article = epub_documents(sandbox.out / f"{source.stem}.epub")["EPUB/article.xhtml"]
    words = " ".join("".join(article.itertext()).split(" "))
    pdf_words = pdf_text(sandbox.out / f"{source.stem}.pdf")
    for expected in ("Non\u00a0breaking", "\u00a9 2025", "&bogus;", "bold and italic",
                     "an unclosed cell", "stray end tags", "Last paragraph."):
        assert expected in words, expected
        assert expected.replace("\u00a0", " ") in pdf_words.replace("\u00a0", " "), expected


def test_character_references_xml_forbids_become_replacement_characters(sandbox: Sandbox) -> None:
    source = sandbox.place("character-references.md")
    result = sandbox.build(source)
    assert_built(sandbox, result, source, ("html", "epub"))
    article = epub_documents(sandbox.out / f"{source.stem}.epub")["EPUB/article.xhtml"]
    words = "".join(article.itertext())
    assert "Control \ufffd null \ufffd noncharacter \ufffd surrogate \ufffd" in words
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", words)


def test_nested_entity_definitions_are_not_expanded(sandbox: Sandbox) -> None:
    source = sandbox.place("billion-laughs.md")
    formats = ("html", "epub", "pdf")
    result = sandbox.build(source, formats=formats)
    assert_built(sandbox, result, source, formats)
    for path in sandbox.out.iterdir():
        assert path.stat().st_size < 200_000, path
    assert "lol" * 20 not in body_markup(sandbox.out, source.stem)


def test_hostile_article_gives_an_epub_that_epubcheck_accepts(sandbox: Sandbox) -> None:
    # One run of EPUBCheck (slow) over many hostile bodies at once, under a title with markup.
    names = ["scripts.md", "attachments.md", "network.md", "raw-style.md", "svg-inline.md",
             "character-references.md", "ids.md", "billion-laughs.md", "external-entity.md",
             "img-dotdot.md"]
    front = (CORPUS / "title-markup.md").read_text(encoding="utf-8").split("---\n")[1]
    bodies = [(CORPUS / name).read_text(encoding="utf-8").split("\n", 1)[1] for name in names]
    source = sandbox.place("combined.md", sandbox.fill(f"---\n{front}---\n\n" + "\n\n".join(bodies)))
    result = sandbox.build(source, formats=("epub",))
    assert_built(sandbox, result, source, ("epub",))
    assert epubcheck_messages(sandbox.out / "combined.epub") == []


# --- the user's stylesheet, and the PDF fetcher --------------------------------------------


@pytest.mark.parametrize("sheet", ["evil-url.css", "evil-import.css", "evil-font-face.css",
                                   "evil-network.css"])
def test_user_stylesheet_reaching_out_is_refused(sandbox: Sandbox, sheet: str) -> None:
    source = sandbox.place("plain.md")
    css = sandbox.place(sheet)
    result = sandbox.build(source, "--style", css, formats=("html", "epub", "pdf"))
    assert_refused(sandbox, result, code=6, names=css, says="stylesheet refers to")
    assert sandbox.connections() == 0


def test_what_an_allowed_stylesheet_imports_is_checked_too(sandbox: Sandbox) -> None:
    source = sandbox.place("plain.md")
    inner = sandbox.place("relay-inner.css")
    css = sandbox.place("relay.css")
    result = sandbox.build(source, "--style", css, formats=("html", "epub", "pdf"))
    assert_refused(sandbox, result, code=6, names=inner, line=1,
                   says=r"stylesheet refers to '\.\./outside/canary\.png'")


def test_fetcher_reads_only_data_urls_and_files_inside(sandbox: Sandbox) -> None:
    from weasyprint.urls import FatalURLFetchingError

    from exporter.resources import make_fetcher

    inside = sandbox.place("plain.md")
    (sandbox.article_dir / "link.txt").symlink_to(sandbox.outside / "canary.txt")
    fetcher = make_fetcher([sandbox.article_dir])
    assert fetcher.fetch(inside.as_uri()).read() == inside.read_bytes()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    port = sandbox.port
    refused = [
        (sandbox.outside / "canary.txt").as_uri(),
        (sandbox.article_dir / "link.txt").as_uri(),
        sandbox.article_dir.as_uri() + "/../outside/canary.txt",
        "file:///dev/urandom",
        "file:///etc/passwd",
        f"http://127.0.0.1:{port}/",
        f"https://127.0.0.1:{port}/",
        f"ftp://127.0.0.1:{port}/",
        "file:///tmp/%00",
    ]
    for url in refused:
        started = time.monotonic()
        with pytest.raises(FatalURLFetchingError):
            fetcher.fetch(url)
        assert time.monotonic() - started < 2, url
    assert sandbox.connections() == 0


# --- encodings, front matter, titles -------------------------------------------------------


@pytest.mark.parametrize(("name", "code", "line", "says"), [
    ("nul.md", 4, 3, "U\\+0000"),
    ("control-character.md", 4, 1, "U\\+000B"),
    ("yaml-python-object.md", 5, 3, "invalid YAML"),
    ("yaml-aliases.md", 5, 4, "aliases are not allowed"),
    ("yaml-escapes.md", 5, 2, "U\\+0007 is not allowed"),
])
def test_bad_source_is_refused_naming_the_line(sandbox: Sandbox, name: str, code: int, line: int,
                                               says: str) -> None:
    source = sandbox.place(name)
    result = sandbox.build(source, formats=("html", "epub", "pdf"))
    assert_refused(sandbox, result, code=code, names=source, says=says, line=line)
    assert not (sandbox.outside / "pwned").exists(), "YAML ran a command"


def test_yaml_syntax_error_names_its_line(sandbox: Sandbox) -> None:
    source = sandbox.place("yaml-syntax.md")
    result = sandbox.build(source)
    message = assert_refused(sandbox, result, code=5, names=source, says="invalid YAML")
    # The list opens on line 3 and the parser notices on line 4, where the next key starts.
    assert re.search(rf"{re.escape(str(source))}:[34]: ", message), message


@pytest.mark.parametrize("name", ["latin1.md", "lone-surrogate.md"])
def test_bytes_that_are_not_utf8_name_their_offset(sandbox: Sandbox, name: str) -> None:
    source = sandbox.place(name)
    data = source.read_bytes()
    offset = next(index for index, byte in enumerate(data) if byte >= 0x80)
    result = sandbox.build(source)
    assert_refused(sandbox, result, code=4, names=source,
                   says=rf"byte 0x{data[offset]:02x} at offset {offset}\b")


def test_byte_order_mark_before_front_matter(sandbox: Sandbox) -> None:
    source = sandbox.place("bom-front-matter.md")
    result = sandbox.build(source)
    assert_built(sandbox, result, source, ("html", "epub"))
    opf = epub_documents(sandbox.out / f"{source.stem}.epub")["EPUB/content.opf"]
    assert opf.findtext(f".//{DC}title") == "Title From Front Matter"
    assert opf.findtext(f".//{DC}creator") == "A. Writer"
    for _, data in _blobs(sandbox.out):
        assert b"\xef\xbb\xbf" not in data and b"title: Title" not in data
    assert "Text after a byte-order mark." in body_markup(sandbox.out, source.stem)


def test_title_with_markup_is_shown_literally(sandbox: Sandbox) -> None:
    source = sandbox.place("title-markup.md")
    front = yaml.safe_load(source.read_text(encoding="utf-8").split("---")[1])
    formats = ("html", "epub", "pdf")
    result = sandbox.build(source, formats=formats)
    assert_built(sandbox, result, source, formats)
    docs = epub_documents(sandbox.out / f"{source.stem}.epub")
    assert docs["EPUB/content.opf"].findtext(f".//{DC}title") == front["title"]
    assert docs["EPUB/content.opf"].findtext(f".//{DC}creator") == front["author"]
    article = docs["EPUB/article.xhtml"]
    assert article.findtext(f"{XHTML}head/{XHTML}title") == front["title"]
    heading = article.find(f".//{XHTML}h1")
    assert heading is not None and "".join(heading.itertext()) == front["title"]
    page = lxml_html.parse(str(sandbox.out / f"{source.stem}.html")).getroot()
    assert page.findtext(".//title") == front["title"]
    assert page.find(".//script") is None and page.find(".//b") is None
    with pikepdf.open(sandbox.out / f"{source.stem}.pdf") as pdf:
        assert str(pdf.docinfo["/Title"]) == front["title"]


def test_title_heading_with_markup_keeps_only_its_text(sandbox: Sandbox) -> None:
    source = sandbox.place("title-heading-markup.md")
    result = sandbox.build(source)
    assert_built(sandbox, result, source, ("html", "epub"))
    opf = epub_documents(sandbox.out / f"{source.stem}.epub")["EPUB/content.opf"]
    assert opf.findtext(f".//{DC}title") == "Hi & <b> link"


def test_identifiers_are_unique_xml_names(sandbox: Sandbox) -> None:
    source = sandbox.place("ids.md")
    result = sandbox.build(source)
    assert_built(sandbox, result, source, ("html", "epub"))
    for name, root in epub_documents(sandbox.out / f"{source.stem}.epub").items():
        ids = [value for value in root.xpath("//@id")]
        assert len(ids) == len(set(ids)), (name, ids)
        for value in ids:
            assert re.fullmatch(r"[A-Za-z_][\w.-]*", value), (name, value)
    article = epub_documents(sandbox.out / f"{source.stem}.epub")["EPUB/article.xhtml"]
    assert "<script" not in etree.tostring(article, encoding="unicode")


def test_empty_file_gives_editions_titled_from_its_name(sandbox: Sandbox) -> None:
    source = sandbox.place("empty.md")
    result = sandbox.build(source, formats=("html", "epub", "pdf"))
    assert_built(sandbox, result, source, ("html", "epub", "pdf"))
    opf = epub_documents(sandbox.out / f"{source.stem}.epub")["EPUB/content.opf"]
    assert opf.findtext(f".//{DC}title") == source.stem.capitalize()


# --- sizes and shapes that would hang or crash --------------------------------------------


def _article(body: str) -> str:
    return "# Pathological\n\n" + body + "\n"


PATHOLOGICAL = [
    ("open-brackets", "[" * 20_000, r"'\[' brackets .* \\\["),
    ("open-image-brackets", "![" * 20_000, r"'\[' brackets"),
    ("nested-brackets", "[" * 10_000 + "]" * 10_000, r"'\[' brackets"),
    ("link-run", "[a](b) " * 20_000, "markup characters"),
    ("deep-list", "".join("  " * depth + "- item\n" for depth in range(1_000)), "nested more"),
    ("deep-ordered-list", "".join("    " * d + "1. item\n" for d in range(1_000)), "nested more"),
    ("deep-quote", ">" * 1_000 + " quoted", "nested more"),
    ("deep-html", "<div>" * 1_000 + "x" + "</div>" * 1_000, "nested more than"),
    ("deep-inline-html", "a <span>" * 100_000, "nested more than"),
    ("deep-emphasis", "*" * 5_000 + "x" + "*" * 5_000, "nested too deeply"),
]


@pytest.mark.parametrize(("case", "body", "says"), PATHOLOGICAL,
                         ids=[case for case, _, _ in PATHOLOGICAL])
def test_pathological_markdown_is_refused_quickly(sandbox: Sandbox, case: str, body: str,
                                                  says: str) -> None:
    source = sandbox.place(f"{case}.md", _article(body))
    started = time.monotonic()
    result = sandbox.build(source)
    elapsed = time.monotonic() - started
    message = assert_refused(sandbox, result, code=4, names=source, says=says)
    assert elapsed < 20, f"took {elapsed:.1f} s"
    line = re.search(rf"{re.escape(str(source))}:(\d+):", message)
    if line is not None:
        assert 3 <= int(line.group(1)) <= 3 + body.count("\n"), message


def test_unclosed_brackets_in_code_still_build(sandbox: Sandbox) -> None:
    body = "```\n" + "[" * 20_000 + "\n```\n\n    " + "[" * 20_000 + "\n\n" + "\\[" * 20_000
    source = sandbox.place("brackets-in-code.md", _article(body))
    started = time.monotonic()
    # (the bound is Markdown's; laying out 40,000-character lines for a page list is WeasyPrint's
    # time, as long as the PDF's, about 24 s here)
    result = sandbox.build(source, "--no-page-list")
    assert_built(sandbox, result, source, ("html", "epub"))
    assert time.monotonic() - started < 20


def test_deep_front_matter_is_refused_quickly(sandbox: Sandbox) -> None:
    source = sandbox.place("deep-yaml.md",
                           "---\ntitle: " + "[" * 20_000 + "]" * 20_000 + "\n---\n\nBody.\n")
    started = time.monotonic()
    result = sandbox.build(source)
    assert_refused(sandbox, result, code=5, names=source, says="nested more than", line=2)
    assert time.monotonic() - started < 20


def test_table_of_5000_rows_builds(sandbox: Sandbox) -> None:
    rows = "".join(f"| r{i} | {i * 3} | name {i} |\n" for i in range(5_000))
    source = sandbox.place("big-table.md", _article("| key | number | name |\n|---|--:|---|\n"
                                                     + rows))
    result = sandbox.build(source, "--no-page-list")  # (the size of the Markdown, not a layout)
    assert_built(sandbox, result, source, ("html", "epub"))
    article = epub_documents(sandbox.out / f"{source.stem}.epub")["EPUB/article.xhtml"]
    body_rows = article.findall(f".//{XHTML}tbody/{XHTML}tr")
    assert len(body_rows) == 5_000
    assert "".join(body_rows[-1].itertext()).split() == ["r4999", "14997", "name", "4999"]


@pytest.mark.parametrize(("width", "height"), [(30_000, 30_000), (10_000, 10_000), (7_000, 6_000)])
def test_image_with_too_many_pixels_is_refused(sandbox: Sandbox, width: int, height: int) -> None:
    sandbox.place("huge.png", png(width, height))
    source = sandbox.place("huge-image.md", _article("![a huge image](huge.png)"))
    result = sandbox.build(source, formats=("html", "epub", "pdf"))
    assert_refused(sandbox, result, code=6, names=source, says="pixels", line=3)


def test_source_over_the_size_limit_is_refused(sandbox: Sandbox) -> None:
    from exporter.options import Options

    limit = Options().max_source_bytes
    source = sandbox.place("too-large.md", _article("word " * (limit // 5 + 10)))
    result = sandbox.build(source)
    assert_refused(sandbox, result, code=4, names=source, says=f"limit of {limit} bytes")


def test_a_pipe_is_not_read_as_an_article(sandbox: Sandbox) -> None:
    pipe = sandbox.article_dir / "pipe.md"
    os.mkfifo(pipe)
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "build", str(pipe), "-o", str(sandbox.out), "-f", "html"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 4, result.stderr
    assert f"Error: {pipe}: is not a regular file" in result.stderr
    assert "Traceback" not in result.stderr and not sandbox.out.exists()


# --- the output folder ---------------------------------------------------------------------


def test_output_folder_under_a_regular_file(sandbox: Sandbox) -> None:
    # Root may write anywhere; a path through a regular file fails for everyone.
    blocker = sandbox.root / "blocker"
    blocker.write_bytes(b"not a folder")
    source = sandbox.place("plain.md")
    for out in (blocker / "sub", blocker):
        result = sandbox.build(source, out=out)
        assert result.exit_code == 8, result.output
        assert f"Error: {out}: cannot create folder" in result.stderr
        assert "Traceback" not in result.output
    assert blocker.read_bytes() == b"not a folder"
    assert [p for p in sandbox.root.rglob("*") if p.suffix in {".html", ".epub", ".part"}] == []


def test_failing_edition_leaves_no_other_edition(sandbox: Sandbox) -> None:
    source = sandbox.place("plain.md")
    sandbox.out.mkdir()
    (sandbox.out / "plain.epub").mkdir()  # the EPUB cannot be written over a folder
    result = sandbox.build(source, formats=("html", "epub"))
    assert result.exit_code == 8, result.output
    assert "Traceback" not in result.output
    assert [p.name for p in sandbox.out.iterdir()] == ["plain.epub"]


def test_corpus_files_all_have_a_case() -> None:
    text = Path(__file__).read_text(encoding="utf-8")
    for path in CORPUS.iterdir():
        if path.name != "README":
            assert f'"{path.name}"' in text, f"{path.name} is used by no test"


# --- generated Markdown ----------------------------------------------------------------------

_PIECES = st.sampled_from([
    "# ", "## ", "### ", "- ", "* ", "1. ", "> ", "    ", "\t", "```\n", "~~~\n", "\n", "\n\n",
    "*", "**", "_", "__", "`", "``", "[", "]", "(", ")", "![", "[x]", "[x]: http://e.org\n",
    "<", ">", "&", "&amp;", "&#0;", "&#x1;", "&#xFFFE;", "&#55296;", "&nbsp;", "&bogus;", "&#",
    "<div>", "</div>", "<p>", "</p>", "<b>", "</i>", "<span id=\"title\">", "<br>", "<hr/>",
    "<table><tr><td>", "</td>", "<script>", "</script>", "<style>", "<!--", "-->", "<![CDATA[",
    "]]>", "<?xml?>", "<!DOCTYPE x [<!ENTITY a \"b\">]>", "&a;", "|", "| a | b |\n|---|---|\n",
    "{#id}", "{: .c #x}", "{#title}", "[^1]", "[^1]: note\n", "*[HTML]: Hyper\n", "HTML", "\\",
    "\"", "'", "--", "...", "<<", ">>", "Term\n: Definition\n", "https://example.org",
    "<https://example.org>", "<img src=\"x.png\" alt=\"a\">", "![alt](data:image/png;base64,AA)",
    "<a href=\"javascript:x\">", "</a>", "<svg><text>t</text></svg>", "<math><mi>x</mi></math>",
    "\u00a0", "\u200b", "\U0001f600", "\u202e", "\u0301", "é", "漢字", "<ruby>漢<rt>kan</rt></ruby>",
    "<abbr title=\"&#x1;\">A</abbr>", "<ol start=\"x\" type=\"z\"><li value=\"v\">",
    "<td colspan=\"-1\">", "<p id=\"a b\" lang=\"??\" dir=\"up\">",
])  # fmt: skip
_WORDS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=12)
_MARKDOWN = st.lists(st.one_of(_PIECES, _WORDS), max_size=50).map("".join)
_TITLES = st.one_of(st.none(), _WORDS, st.sampled_from(["<b>x</b> & y", "]]>", "\"'<>&", "#"]))


@pytest.fixture(scope="module")
def shared_session() -> Session:
    """One build session for many generated articles, as ``--watch`` keeps one: the fonts and
    stylesheets are loaded once, not once an example."""
    return Session()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown=_MARKDOWN, title=_TITLES)
def test_generated_markdown_gives_strict_xml_or_a_clear_error(shared_session: Session,
                                                              markdown: str,
                                                              title: str | None) -> None:
    from exporter import build
    from exporter.errors import ExporterError

    front = f"---\n{yaml.safe_dump({'title': title}, allow_unicode=True)}---\n" if title else ""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "generated.md"
        source.write_text(front + markdown, encoding="utf-8")
        out = Path(folder) / "out"
        try:
            build(source, out, formats=("html", "epub"), session=shared_session)
        except ExporterError as error:
            assert str(source) in str(error)
            assert not out.exists() or not any(out.iterdir())
            return
        documents = epub_documents(out / "generated.epub")
        assert "EPUB/article.xhtml" in documents
        if title and title.strip():
            found = documents["EPUB/content.opf"].findtext(f".//{DC}title")
            assert found == " ".join(title.split())
        lxml_html.parse(str(out / "generated.html"))
        shutil.rmtree(out)


_MAGIC = st.sampled_from([b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff", b"RIFF\x00\x00\x00\x00WEBP",
                          b"II*\x00", b"BM", b"<svg", b""])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(magic=_MAGIC, payload=st.binary(max_size=200))
def test_generated_image_bytes_are_read_or_refused(magic: bytes, payload: bytes) -> None:
    from exporter import build
    from exporter.errors import ExporterError

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "picture.png").write_bytes(magic + payload)
        source = Path(folder) / "picture.md"
        source.write_text("# Picture\n\n![a picture](picture.png)\n", encoding="utf-8")
        try:
            # The image policy runs before any edition: the HTML edition alone shows its outcome.
            result = build(source, Path(folder) / "out", formats=("html",))
        except ExporterError as error:
            assert str(source) in str(error)
            return
        assert len(result.outputs) == 1

