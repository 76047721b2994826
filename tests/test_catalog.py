"""The library page and the OPDS catalog: what readers download from and reading apps browse.

The page is also opened in Chromium through Playwright (slow): every link followed, axe-core run.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from lxml import etree, html
from PIL import Image

from conftest import SEED, run_cli, serving
from validators import axe_script, chromium, opds_errors

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/terms/}"
ACQUISITION = "http://opds-spec.org/acquisition"
SHOTS = Path(__file__).parent.parent / "build" / "screenshots"

SECOND = """---
title: "Звіт із Покровська"
author: [Olena Petrenko, John Smith]
date: 2026-01-15
language: uk
description: A second report, in Ukrainian, with two authors.
subjects: [Pokrovsk]
rights: CC BY 4.0
publisher: Field Notes
---

# Звіт

Текст звіту.
"""


def _library(parent: Path) -> Path:
    """Two articles, one of them under a name with a space and Cyrillic letters."""
    folder = parent / "articles"
    folder.mkdir()
    shutil.copy(SEED, folder / "pokrovsk.md")
    (folder / "звіт два.md").write_text(SECOND, encoding="utf-8")
    return folder


@pytest.fixture()
def library(tmp_path: Path) -> Path:
    """The two articles, in the test's own folder."""
    return _library(tmp_path)


@pytest.fixture(scope="module")
def built_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two articles' editions and catalog, built once for the tests that only read them."""
    folder = tmp_path_factory.mktemp("library")
    out = folder / "dist"
    _build(_library(folder), out)
    return out


def _build(sources: Path, out: Path, *extra: str) -> None:
    result = run_cli("build", sources, "-o", out, "--catalog", *extra)
    assert result.exit_code == 0, result.output
    assert f"Wrote catalog: {out / 'index.html'}" in result.output


def _package(epub: Path) -> etree._Element:
    with zipfile.ZipFile(epub) as package:
        return etree.fromstring(package.read("EPUB/content.opf"))


def test_the_feed_lists_every_article_with_working_links(built_library: Path) -> None:
    out = built_library
    feed_path = out / "catalog.xml"
    assert opds_errors(feed_path) == []
    feed = etree.parse(str(feed_path)).getroot()
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    # Newest first; the feed is as new as its newest entry.
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Звіт із Покровська", "The Battle for Pokrovsk: Russia Claims Gains as Ukraine Holds the Line"]
    assert feed.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")
    assert entries[0].findtext(f"{ATOM}updated").startswith("2026-01-15T")
    for entry, stem in zip(entries, ("звіт два", "pokrovsk"), strict=True):
        package = _package(out / f"{stem}.epub")
        dc = "{http://purl.org/dc/elements/1.1/}"
        assert entry.findtext(f"{ATOM}id") == package.findtext(f".//{dc}identifier")
        assert entry.findtext(f"{DC}language") == package.findtext(f".//{dc}language")
        assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == \
            [s.text for s in package.iter(f"{dc}subject")]
        links = {link.get("rel"): link for link in entry.findall(f"{ATOM}link")}
        acquisitions = [link for link in entry.findall(f"{ATOM}link") if link.get("rel") == ACQUISITION]
        assert sorted(link.get("type") for link in acquisitions) == ["application/epub+zip",
                                                                      "application/pdf"]
        for link in entry.findall(f"{ATOM}link"):
            target = out / unquote(link.get("href"))
            assert target.is_file(), link.get("href")
            assert not re.search(r"[^A-Za-z0-9%._/-]", link.get("href"))  # percent-encoded
            if link.get("length"):
                assert int(link.get("length")) == target.stat().st_size
        for rel in ("http://opds-spec.org/image", "http://opds-spec.org/image/thumbnail"):
            with Image.open(out / unquote(links[rel].get("href"))) as picture:
                assert picture.format == "JPEG"
                if rel.endswith("thumbnail"):
                    assert max(picture.size) <= 360
    second = entries[0]
    assert [a.findtext(f"{ATOM}name") for a in second.findall(f"{ATOM}author")] == \
        ["Olena Petrenko", "John Smith"]
    assert second.findtext(f"{DC}issued") == "2026-01-15"
    assert second.findtext(f"{DC}publisher") == "Field Notes"
    assert second.findtext(f"{ATOM}rights") == "CC BY 4.0"
    assert second.findtext(f"{ATOM}summary") == "A second report, in Ukrainian, with two authors."


def test_the_schema_check_can_fail(library: Path, tmp_path: Path) -> None:
    """The RELAX NG check is not vacuous: an entry without its id is refused."""
    out = tmp_path / "dist"
    _build(library, out, "-f", "epub")
    feed = etree.parse(str(out / "catalog.xml"))
    entry_id = feed.getroot().find(f"{ATOM}entry/{ATOM}id")
    entry_id.getparent().remove(entry_id)
    broken = tmp_path / "broken.xml"
    feed.write(str(broken))
    assert opds_errors(broken)


def test_the_page_links_every_edition(built_library: Path) -> None:
    out = built_library
    page = html.parse(str(out / "index.html")).getroot()
    assert page.get("lang") == "en"
    assert page.find(".//main") is not None and page.find(".//header/h1") is not None
    titles = [h.text_content() for h in page.iter("h2")]
    assert titles[0] == "Звіт із Покровська" and titles[1].startswith("The Battle for Pokrovsk")
    for element, attribute in [*((a, "href") for a in page.iter("a")),
                               *((img, "src") for img in page.iter("img"))]:
        target = out / unquote(element.get(attribute))
        assert target.is_file(), element.get(attribute)
    for image in page.iter("img"):
        assert image.get("alt", "").startswith("Cover of ")
    for link in page.xpath("//ul[@class='get']//a"):
        size = (out / unquote(link.get("href"))).stat().st_size
        shown = re.search(r"\(([\d.]+) (bytes|kB|MB)\)", link.text_content())
        assert shown, link.text_content()
        scale = {"bytes": 1, "kB": 1_000, "MB": 1_000_000}[shown.group(2)]
        assert abs(float(shown.group(1)) * scale - size) <= 0.05 * size + scale / 2
    assert "<script" not in (out / "index.html").read_text(encoding="utf-8")


def test_the_catalog_is_the_same_bytes_every_time(library: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    _build(library, first)
    result = run_cli("build", library, "-o", second, "--catalog", "--force", env={"TZ": "Asia/Tokyo"})
    assert result.exit_code == 0, result.output
    names = ["catalog.xml", "index.html", "covers/pokrovsk.cover.jpg",
             "covers/pokrovsk.thumbnail.jpg", "covers/звіт два.thumbnail.jpg"]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    catalog = (first / "catalog.xml").read_bytes()
    _build(library, first)  # every article kept from the last build: listed just the same
    assert (first / "catalog.xml").read_bytes() == catalog


def test_a_book_is_one_entry(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    _build(library, out, "--book", "Collected Reports", "--catalog-title", "Field archive")
    feed = etree.parse(str(out / "catalog.xml")).getroot()
    assert feed.findtext(f"{ATOM}title") == "Field archive"
    assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == ["Collected Reports"]
    assert opds_errors(out / "catalog.xml") == []


def test_a_catalog_needs_the_epub(library: Path, tmp_path: Path) -> None:
    result = run_cli("build", library, "-o", tmp_path / "dist", "--catalog", "-f", "pdf")
    assert result.exit_code == 2
    assert result.output.startswith("Error:") and "add -f epub" in result.output
    assert not (tmp_path / "dist").exists()


def test_no_catalog_file_replaces_another(library: Path, tmp_path: Path) -> None:
    """Articles named like the page, or like another's thumbnail; a file where covers go."""
    (library / "index.md").write_text("---\ntitle: Index\n---\n\nText.\n", encoding="utf-8")
    result = run_cli("build", library, "-o", tmp_path / "one", "--catalog")
    assert result.exit_code == 2 and result.output.startswith("Error:")
    assert "index.html" in result.output and not (tmp_path / "one").exists()
    (library / "index.md").unlink()
    out = tmp_path / "two"
    out.mkdir()
    (out / "covers").write_text("mine", encoding="utf-8")
    result = run_cli("build", library, "-o", out, "--catalog")
    assert result.exit_code == 2 and "covers" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["covers"]
    (out / "covers").unlink()
    (library / "pokrovsk-thumbnail.md").write_text("---\ntitle: Other\n---\n\nText.\n",
                                                   encoding="utf-8")
    (library / "pokrovsk.thumbnail.md").write_text("---\ntitle: Third\n---\n\nText.\n",
                                                   encoding="utf-8")
    _build(library, out, "-f", "epub")
    feed = etree.parse(str(out / "catalog.xml")).getroot()
    images = [link.get("href") for link in feed.iter(f"{ATOM}link")
              if link.get("rel", "").startswith("http://opds-spec.org/image")]
    assert len(images) == len(set(images)) == 8
    covers = {(out / unquote(href)).read_bytes() for href in images}
    assert len(covers) == 8  # every file its own


@pytest.mark.parametrize("title", ["", "  ", "Bad\x01Title"])
def test_a_catalog_title_must_be_text(library: Path, tmp_path: Path, title: str) -> None:
    result = run_cli("build", library, "-o", tmp_path / "dist", "--catalog", "--catalog-title", title)
    assert result.exit_code == 2 and result.output.startswith("Error:")
    assert not (tmp_path / "dist").exists()


def test_a_user_cover_is_listed_as_given(library: Path, tmp_path: Path) -> None:
    picture = io.BytesIO()
    Image.new("RGBA", (600, 900), (200, 30, 30, 255)).save(picture, "PNG")
    (library / "cover.png").write_bytes(picture.getvalue())
    text = (library / "pokrovsk.md").read_text(encoding="utf-8")
    (library / "pokrovsk.md").write_text(text.replace("---\n", "---\ncover: cover.png\n", 1),
                                         encoding="utf-8")
    out = tmp_path / "dist"
    _build(library, out, "-f", "epub")
    assert (out / "covers" / "pokrovsk.cover.png").read_bytes() == picture.getvalue()
    with Image.open(out / "covers" / "pokrovsk.thumbnail.jpg") as thumb:
        assert thumb.size == (240, 360)
        assert thumb.getpixel((120, 180))[0] > 150  # the red cover, not a blank



@pytest.fixture()
def served(built_library: Path) -> Iterator[str]:
    """The built folder on a loopback web server, as a reader would put it online."""
    with serving(built_library) as address:
        yield address


@pytest.mark.slow
@pytest.mark.skipif(axe_script() is None, reason="axe-core (with DAISY Ace) not installed")
@pytest.mark.parametrize(("width", "scheme"), [(360, "dark"), (1024, "light")])
def test_the_page_reads_well_and_every_link_works(served: str, width: int, scheme: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium())
        try:
            page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
            page.goto(served + "index.html")
            assert page.locator("article h2").count() == 2
            # Nothing wider than a phone's screen; no script needed.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.evaluate("document.scripts.length") == 0
            links = page.eval_on_selector_all(
                "a[href], img[src]", "els => els.map(e => e.href || e.src)")
            assert len(links) == 1 + 2 * (1 + 3)  # the feed; each article's cover and editions
            for link in links:
                response = page.request.get(link)
                assert response.ok, link
                assert int(response.headers["content-length"]) > 0
            # As a reading app browses it: the feed, then every link of every entry.
            feed = etree.fromstring(page.request.get(served + "catalog.xml").body())
            for link in feed.iter(f"{ATOM}link"):
                response = page.request.get(served + link.get("href"))
                assert response.ok, link.get("href")
                if link.get("length"):
                    assert response.headers["content-length"] == link.get("length")
            images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
            assert all(width > 0 for width in images)
            page.add_script_tag(path=str(axe_script()))
            found = page.evaluate("async () => (await axe.run(document)).violations"
                                  ".map(v => `${v.impact}: ${v.id}: ${v.help}`)")
            assert found == []
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"catalog-{width}-{scheme}.png"), full_page=True)
        finally:
            browser.close()
