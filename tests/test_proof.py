"""Proofs: one PNG per PDF page at the page's aspect ratio, and a contact sheet of spreads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageStat

from conftest import SEED
from exporter.errors import ExporterError
from exporter.pipeline import build
from exporter.proof import ProofError, ProofResult, spreads, write_proofs


def _mediabox_size(pdf: Path, index: int) -> tuple[float, float]:
    """Width and height of one page's MediaBox, in points."""
    with pikepdf.open(pdf) as document:
        x0, y0, x1, y1 = (float(value) for value in document.pages[index].mediabox)
    return x1 - x0, y1 - y0


def _page_count(pdf: Path) -> int:
    with pikepdf.open(pdf) as document:
        return len(document.pages)


def _assert_page_shapes(pdf: Path, result: ProofResult, dpi: int) -> None:
    """Each proof image has its page's size at *dpi* and so its aspect ratio, within 1.5 px."""
    assert len(result.pages) == _page_count(pdf)
    for index, path in enumerate(result.pages):
        width_pt, height_pt = _mediabox_size(pdf, index)
        with Image.open(path) as image:
            assert image.format == "PNG"
            width, height = image.size
        assert width == pytest.approx(width_pt / 72 * dpi, abs=1.5), path.name
        assert height == pytest.approx(width * height_pt / width_pt, abs=1.5), path.name


@pytest.fixture(scope="module")
def seed_proofs(seed_editions: dict[str, Path],
                tmp_path_factory: pytest.TempPathFactory) -> ProofResult:
    """Proofs of the seed article's PDF at the default resolution."""
    return write_proofs(seed_editions["pdf"], tmp_path_factory.mktemp("proofs"))


@pytest.fixture(scope="module")
def sized_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The seed's PDF at A5 and at 6x9in."""
    pdfs = {}
    for size in ("A5", "6x9in"):
        out = tmp_path_factory.mktemp(size)
        build(SEED, out, formats=["pdf"], page_size=size)
        pdfs[size] = out / "pokrovsk.pdf"
    return pdfs


def test_one_image_per_page_named_in_order(seed_editions: dict[str, Path],
                                           seed_proofs: ProofResult) -> None:
    count = _page_count(seed_editions["pdf"])
    assert count >= 2
    names = [path.name for path in seed_proofs.pages]
    assert names == [f"pokrovsk-p{number:03d}.png" for number in range(1, count + 1)]
    assert all(path.is_file() for path in seed_proofs.pages)
    folder = seed_proofs.contact_sheet.parent
    assert sorted(p.name for p in folder.iterdir()) == sorted([*names, "pokrovsk-contact.png"])


def test_proof_images_have_the_page_aspect_ratio(seed_editions: dict[str, Path],
                                                 seed_proofs: ProofResult) -> None:
    _assert_page_shapes(seed_editions["pdf"], seed_proofs, 60)


def test_proof_images_show_the_page(seed_proofs: ProofResult) -> None:
    with Image.open(seed_proofs.pages[0]) as image:
        grey = image.convert("L")
    histogram = grey.histogram()
    dark = sum(histogram[:128]) / (grey.width * grey.height)
    assert 0.005 < dark < 0.5, "the first page should hold some dark text on white"
    assert sum(histogram[:60]) > 0, "no black text on the page"
    assert histogram[255] > 0, "no white paper on the page"
    assert ImageStat.Stat(grey).median[0] == 255, "the page background should be white"


@pytest.mark.parametrize("size", ["A5", "6x9in"])
def test_proofs_follow_the_page_size(sized_pdfs: dict[str, Path], tmp_path: Path,
                                     size: str) -> None:
    result = write_proofs(sized_pdfs[size], tmp_path)
    _assert_page_shapes(sized_pdfs[size], result, 60)
    with Image.open(result.pages[0]) as image:
        ratio = image.height / image.width
    assert ratio == pytest.approx({"A5": 210 / 148, "6x9in": 9 / 6}[size], abs=0.01)


def test_resolution_scales_the_images(seed_editions: dict[str, Path], tmp_path: Path) -> None:
    result = write_proofs(seed_editions["pdf"], tmp_path, dpi=30)
    _assert_page_shapes(seed_editions["pdf"], result, 30)


def test_contact_sheet_shows_pages_side_by_side(seed_proofs: ProofResult) -> None:
    with Image.open(seed_proofs.contact_sheet) as sheet:
        assert sheet.format == "PNG"
        sheet_width = sheet.width
    with Image.open(seed_proofs.pages[0]) as page:
        page_width = page.width
    assert seed_proofs.contact_sheet.name == "pokrovsk-contact.png"
    assert sheet_width > page_width


def test_spreads_put_page_one_alone_on_the_right() -> None:
    assert spreads(0) == []
    assert spreads(1) == [(None, 1)]
    assert spreads(2) == [(None, 1), (2, None)]
    assert spreads(3) == [(None, 1), (2, 3)]
    assert spreads(6) == [(None, 1), (2, 3), (4, 5), (6, None)]


def test_result_is_frozen(seed_proofs: ProofResult) -> None:
    with pytest.raises(AttributeError):
        setattr(seed_proofs, "pages", ())  # noqa: B010


def test_stale_pages_of_a_longer_run_are_removed(sized_pdfs: dict[str, Path],
                                                 seed_editions: dict[str, Path],
                                                 tmp_path: Path) -> None:
    longer, shorter = sized_pdfs["A5"], seed_editions["pdf"]
    assert _page_count(longer) > _page_count(shorter)
    pdf = tmp_path / "issue.pdf"
    shutil.copy(longer, pdf)
    first = write_proofs(pdf, tmp_path / "proofs")
    shutil.copy(shorter, pdf)
    second = write_proofs(pdf, tmp_path / "proofs")
    assert len(second.pages) < len(first.pages)
    left = sorted((tmp_path / "proofs").glob("issue-p*.png"))
    assert left == sorted(second.pages)
    assert not list((tmp_path / "proofs").glob("*.part"))


def _broken_inputs(folder: Path) -> dict[str, Path]:
    markdown = folder / "article.pdf"
    shutil.copy(SEED, markdown)
    truncated = folder / "truncated.pdf"
    truncated.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")
    empty = folder / "empty.pdf"
    empty.write_bytes(b"")
    return {"markdown": markdown, "truncated": truncated, "empty": empty,
            "missing": folder / "missing.pdf", "folder": folder}


@pytest.mark.parametrize("kind", ["markdown", "truncated", "empty", "missing", "folder"])
def test_non_pdf_input_gives_the_project_error(tmp_path: Path, kind: str) -> None:
    (tmp_path / "in").mkdir()
    source = _broken_inputs(tmp_path / "in")[kind]
    out = tmp_path / "proofs"
    with pytest.raises(ProofError) as caught:
        write_proofs(source, out)
    error = caught.value
    assert isinstance(error, ExporterError)
    assert error.exit_code == 11
    assert str(source) in str(error)
    assert "\n" not in str(error)
    assert not out.exists()


@pytest.mark.parametrize("dpi", [0, -60, 5, 10_000])
def test_unusable_resolution_is_refused(seed_editions: dict[str, Path], tmp_path: Path,
                                        dpi: int) -> None:
    with pytest.raises(ProofError, match="dpi"):
        write_proofs(seed_editions["pdf"], tmp_path / "proofs", dpi=dpi)
    assert not (tmp_path / "proofs").exists()


def test_password_protected_pdf_is_refused(seed_editions: dict[str, Path], tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(seed_editions["pdf"]) as document:
        document.save(locked, encryption=pikepdf.Encryption(owner="editor", user="secret"))
    with pytest.raises(ProofError, match="password"):
        write_proofs(locked, tmp_path / "proofs")


def test_single_page_pdf_with_a_long_name(seed_editions: dict[str, Path], tmp_path: Path) -> None:
    single = tmp_path / f"{'a-rather-long-article-name-' * 4}single.pdf"
    with pikepdf.open(seed_editions["pdf"]) as document:
        del document.pages[1:]
        document.save(single)
    result = write_proofs(single, tmp_path / "proofs")
    assert [path.name for path in result.pages] == [f"{single.stem}-p001.png"]
    with Image.open(result.contact_sheet) as sheet, Image.open(result.pages[0]) as page:
        assert sheet.width > page.width


def test_oversized_page_image_is_refused(tmp_path: Path) -> None:
    poster = tmp_path / "poster.pdf"
    with pikepdf.new() as document:
        document.add_blank_page(page_size=(5669, 5669))  # 2 m square
        document.save(poster)
    with pytest.raises(ProofError, match="megapixels"):
        write_proofs(poster, tmp_path / "proofs", dpi=600)
    assert not (tmp_path / "proofs").exists()
    result = write_proofs(poster, tmp_path / "proofs", dpi=10)
    with Image.open(result.pages[0]) as image:
        width, height = image.size
    assert abs(width - 787) <= 1 and abs(height - 787) <= 1
