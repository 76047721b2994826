"""Documents nobody here wrote (``corpus.py``): every one gives its editions or a clear error.

Slow: about 800 articles, all three editions each, every EPUB through EPUBCheck.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import write_articles
from layout import Margins, layout_faults
from validators import epubcheck_messages

pytestmark = pytest.mark.slow

MARGINS = Margins(25, 20, 30, 20)


@pytest.fixture(scope="module")
def corpus_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path, str]:
    """The corpus's articles, the folder of their editions and the command's stderr."""
    folder = tmp_path_factory.mktemp("corpus")
    articles = write_articles(folder / "src")
    out = folder / "out"
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "build", str(folder / "src"), "-o", str(out),
         "--margins", "25mm 20mm 30mm", "--jobs", "2"],
        capture_output=True, text=True, timeout=3000, check=False,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return articles, out, result.stderr


def test_the_corpus_is_large_enough(corpus_build: tuple[list[Path], Path, str]) -> None:
    articles, _, _ = corpus_build
    assert len(articles) >= 500
    assert sum(path.name.startswith("commonmark-") for path in articles) >= 600


def test_every_document_gives_all_editions_or_a_clear_error(
        corpus_build: tuple[list[Path], Path, str]) -> None:
    articles, out, stderr = corpus_build
    assert "internal error" not in stderr and "Traceback" not in stderr
    refused = {Path(match) for match in re.findall(r"^Error: ([^:\n]+\.md)(?::\d+)?: ", stderr,
                                                   re.MULTILINE)}
    missing = []
    for article in articles:
        editions = [out / f"{article.stem}.{fmt}" for fmt in ("html", "epub", "pdf")]
        if article in refused:
            assert not any(path.exists() for path in editions), article
        elif not all(path.is_file() and path.stat().st_size for path in editions):
            missing.append(article.name)
    assert missing == []
    assert len(refused) <= len(articles) // 50, sorted(refused)  # refusals are rare and named


def test_every_epub_passes_epubcheck(corpus_build: tuple[list[Path], Path, str]) -> None:
    _, out, _ = corpus_build
    epubs = sorted(out.glob("*.epub"))
    assert len(epubs) >= 500
    failures = {}
    for epub in epubs:
        errors = [m for m in epubcheck_messages(epub) if m.startswith(("ERROR", "FATAL"))]
        if errors:
            failures[epub.name] = errors[:3]
    assert failures == {}


def test_corpus_pages_keep_to_the_text_area(corpus_build: tuple[list[Path], Path, str]) -> None:
    """Every PDF of the corpus, through the layout check."""
    _, out, _ = corpus_build
    pdfs = sorted(out.glob("*.pdf"))
    faults = {pdf.name: found[:3] for pdf in pdfs if (found := layout_faults(pdf, MARGINS))}
    assert faults == {}


def test_superfences_is_left_out_only_where_it_changes_nothing(
        corpus_build: tuple[list[Path], Path, str]) -> None:
    """Every corpus document that cannot hold code converts alike with and without SuperFences
    (the converter leaves it out for them), and most documents are of that kind or the other."""
    from exporter.markdown_ext import make_markdown, may_hold_code

    articles, _, _ = corpus_build
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in articles]
    plain = [text for text in texts if not may_hold_code(text)]
    assert 100 < len(plain) < len(texts) - 100
    differ = [text[:60] for text in plain
              if make_markdown(code=False).convert(text) != make_markdown().convert(text)]
    assert differ == []
