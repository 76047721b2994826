"""Text in scripts the style's font lacks: a fallback font and a warning, never silent boxes."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli
from validators import pdf_fonts, pdf_text

ARTICLE = ("---\ntitle: Scripts\n---\n\nArmenian: Հայաստան. Georgian: საქართველო. "
           "Hebrew: שלום. Greek: Ελλάδα. Russian: Россия.\n")


def test_fallback_font_draws_other_scripts_and_is_named(tmp_path: Path) -> None:
    source = tmp_path / "scripts.md"
    source.write_text(ARTICLE, encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out", "-f", "pdf")
    assert result.exit_code == 0, result.output
    warning = next(line for line in result.stderr.splitlines() if "fallback font" in line)
    assert "Հ (U+0540)" in warning and "scripts.md" in warning
    assert "Ελλάδα" not in warning and "Р" not in warning  # Gentium covers Greek and Cyrillic
    fonts = pdf_fonts(tmp_path / "out" / "scripts.pdf")
    assert any("DejaVu" in name for name, _ in fonts) and all(emb for _, emb in fonts)
    assert "Հայաստան" in pdf_text(tmp_path / "out" / "scripts.pdf")


def test_strict_refuses_a_fallback(tmp_path: Path) -> None:
    source = tmp_path / "scripts.md"
    source.write_text(ARTICLE, encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out", "-f", "pdf", "--strict")
    assert result.exit_code == 10
    assert "fallback font" in result.stderr and not (tmp_path / "out").exists()


def test_a_character_no_font_has_is_named_once(tmp_path: Path) -> None:
    """Whether or not this machine has a font for it, one warning names it, and WeasyPrint's own
    line per character (".notdef glyph rendered") is not repeated."""
    source = tmp_path / "han.md"
    source.write_text("---\ntitle: Han\n---\n\nThe sign 漢 and 字, twice: 漢.\n", encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out", "-f", "pdf")
    assert result.exit_code == 0, result.output
    named = [line for line in result.stderr.splitlines() if "U+6F22" in line]
    assert len(named) == 1 and "han.md" in named[0] and "U+5B57" in named[0], result.stderr
    assert ".notdef" not in result.stderr


def test_an_emoji_is_drawn_with_a_bundled_font(tmp_path: Path) -> None:
    """Pango seeks a character's emoji form among the machine's fonts (an installed DejaVu Sans
    answered, so the PDF differed between machines): the bundled DejaVu Sans answers instead."""
    source = tmp_path / "smile.md"
    source.write_text("---\ntitle: Smile\n---\n\nA smile \U0001F600 and **a bold \U0001F600**.\n",
                      encoding="utf-8")
    result = run_cli("build", source, "-o", tmp_path / "out", "-f", "pdf")
    assert result.exit_code == 0, result.output
    names = [name.split("+", 1)[-1] for name, _ in pdf_fonts(tmp_path / "out" / "smile.pdf")]
    assert names and all(name.startswith(("Gentium-Book-Plus", "emoji")) for name in names), names


FAMILIES = {"gentium-book-plus": "GentiumBookPlus-Regular.ttf", "inter": "Inter-Regular.otf",
            "jetbrains-mono": "JetBrainsMono-Regular.ttf"}


def test_every_face_of_a_family_has_its_regular_face_s_characters() -> None:
    """The PDF loads a style's family alone when its regular face has every character of the
    text: its bold and italic faces must have them too."""
    from fontTools.ttLib import TTFont

    from exporter.resources import styles_dir

    for folder, regular in FAMILIES.items():
        faces = sorted((styles_dir() / "fonts" / folder).glob("*.[ot]tf"))
        cmaps = {}
        for face in faces:
            with TTFont(str(face), lazy=True) as font:
                cmaps[face.name] = set(font.getBestCmap())
        assert len(cmaps) >= 2 and all(cmaps[regular] <= cmap for cmap in cmaps.values()), folder


DOCUMENTS = {
    "plain": "Plain “quoted” text — with dashes… and a list:\n\n- one\n- two\n\n1. three\n",
    "nested": "- one\n  - two\n    - three\n",
    "breaks": "A<wbr>long<wbr>word, " + "incomprehensibilities " * 60,
    "quotes": "He said <q>hello <q>inner</q></q> <q lang=\"de\">und</q> <q lang=\"ja\">日本</q>.",
    "symbols": "Arrows → and ⬜ and ⚡ and a flag \U0001F1FA\U0001F1E6.",
    "selector": "Press \u203c\ufe0f now, or 1\ufe0f.",
    "capitals": "| \u01c6ep | \u0250x |\n|---|---|\n| 1 | 2 |",  # (headers in capitals or small caps)
    "scripts": "Россия, Ελλάδα, Հայաստան, שלום.",
    "code": "Some `code` and <kbd>Ctrl</kbd>.",
}


@pytest.mark.slow
@pytest.mark.parametrize("style", ["classic", "modern"])
def test_loading_only_the_faces_a_text_needs_draws_the_same_pdf(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, style: str) -> None:
    """Each face loaded costs WeasyPrint time, so a text its style's family covers loads that
    family alone: the PDF must be the very one drawn with every bundled face loaded."""
    from exporter.editions import pdf
    from exporter.options import Options
    from exporter.pipeline import render_source

    options = Options().with_changes(style=style, formats=("pdf",))
    chosen, alone, sheets = {}, [], pdf._font_sheets
    monkeypatch.setattr(pdf, "_font_sheets", lambda *a: (alone.append(len(sheets(*a)) == 1),
                                                         sheets(*a))[1])
    for name, text in DOCUMENTS.items():
        source = tmp_path / f"{name}.md"
        source.write_text(f"---\ntitle: {name.title()}\n---\n\n{text}\n", encoding="utf-8")
        chosen[name] = render_source(source, options)[0]["pdf"]
    assert alone == [True, False, True, False, False, False, style == "classic", False, False]
    monkeypatch.setattr(pdf, "_font_sheets", lambda *a: pdf._FONT_SHEETS)
    for name in DOCUMENTS:
        assert render_source(tmp_path / f"{name}.md", options)[0]["pdf"] == chosen[name], name
