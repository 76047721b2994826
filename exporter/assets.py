"""The offline policy for an article's images: only ``data:`` URLs and files in the source's folder
are read; a remote or refused image leaves its alt text and a warning; no alt text is an error."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree

from .errors import Diagnostic, ResourceError, SourceError, reason
from .options import Options
from .source import Source

#: Image types every EPUB reader must show, by Pillow's format name.
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_SUFFIX = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_MAX_IMAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Asset:
    """An image the editions carry: its name inside the book, type, bytes and size, and the
    file it was read from, relative to the article's folder (None for data: URLs)."""

    name: str
    media_type: str
    data: bytes
    width: int
    height: int
    origin: str | None = None

    def data_uri(self) -> str:
        """The image as a ``data:`` URL, for the self-contained HTML edition."""
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def resolve_images(
    root: etree._Element, source: Source, options: Options, cover: str | None
) -> tuple[tuple[Asset, ...], tuple[Diagnostic, ...], tuple[str, ...]]:
    """Check every ``<img>`` under *root* and rename it to its asset name: the assets, the warnings,
    and the files the images (and the *cover*) are looked for in the source's folder."""
    found: dict[str, Asset] = {}
    refusals: list[Diagnostic] = []
    pixels = 0
    images = list(root.iter("img"))
    addresses = [(image.get("src") or "").strip() for image in images] + [cover or ""]
    names = [unquote(urlsplit(address).path) for address in addresses
             if address and not _SCHEME.match(address)]
    for image, src in zip(images, addresses, strict=False):
        alt = image.get("alt")
        # The sanitiser removes addresses with other schemes (file:, javascript:): find the alt.
        line = _line_of(src or (f"[{alt}]" if alt else ""), source)
        if alt is None or not alt.strip():
            raise SourceError(f"image {src!r} has no alt text; describe it for readers who cannot "
                              "see it", path=source.path, line=line)
        try:
            asset = _make_asset(_read_image(src, source.path.parent.resolve()), options)
        except _Refused as refusal:
            where = f" ({src})" if src else ""
            refusals.append(Diagnostic(refusal.code, f"{refusal}{where}: alt text shown instead",
                                       str(source.path), line))
            image.tag, image.text = "span", f"[{alt.strip()}]"
            image.attrib.clear()
            image.set("class", "image-missing")
            continue
        except ResourceError as error:
            raise ResourceError(f"image {src!r}: {error.message}", path=source.path, line=line) from None
        pixels += asset.width * asset.height if asset.name not in found else 0
        if pixels > options.max_total_image_pixels:
            raise ResourceError(f"the images pass {options.max_total_image_pixels} pixels "
                                "together, the limit for one article", path=source.path, line=line)
        if not src.startswith("data:"):
            asset = dataclasses.replace(asset, origin=unquote(urlsplit(src).path))
        found.setdefault(asset.name, asset)
        image.set("src", asset.name)
    return tuple(found.values()), tuple(refusals), tuple(dict.fromkeys(filter(None, names)))


def load_cover(name: str, source: Source, options: Options) -> Asset:
    """The cover image the front matter names, under the same policy as any image."""
    try:
        asset = _make_asset(_read_image(name, source.path.parent.resolve()), options)
    except (_Refused, ResourceError) as error:
        raise ResourceError(f"cover {name!r}: {error}", path=source.path) from None
    if asset.media_type not in {"image/png", "image/jpeg"}:
        raise ResourceError(f"cover {name!r}: use a PNG or JPEG image", path=source.path)
    return dataclasses.replace(asset, origin=name)


class _Refused(Exception):
    """An image the policy does not read; the build goes on with its alt text."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _read_image(src: str, base: Path) -> bytes:
    if src.startswith("data:"):
        header, _, payload = src.partition(",")
        if not header.endswith(";base64"):
            raise _Refused("RES-DATA", "only base64 data URLs are read")
        try:
            return base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            raise _Refused("RES-DATA", "malformed data URL") from None
    if _SCHEME.match(src) or src.startswith("//"):
        raise _Refused("RES-REMOTE", "remote image not fetched: this tool works offline")
    relative = unquote(urlsplit(src).path)
    if relative.startswith("/"):
        raise _Refused("RES-OUTSIDE", "image named by an absolute path not read: name it "
                       "relative to the article")
    if not relative:
        raise _Refused("RES-MISSING", "image has no address, or one with a scheme this tool never "
                       "reads (only files in the article's folder and data: URLs are read)")
    try:
        target = (base / relative).resolve()
        if not target.is_relative_to(base):
            raise _Refused("RES-OUTSIDE", "image outside the article's folder not read")
        if not target.is_file():
            raise _Refused("RES-MISSING", "image file not found")
        if target.stat().st_size > _MAX_IMAGE_BYTES:
            raise ResourceError(f"image file is larger than {_MAX_IMAGE_BYTES} bytes")
        return target.read_bytes()
    except (OSError, ValueError, RuntimeError) as error:  # (a loop of links, a NUL, a long name)
        why = reason(error) if isinstance(error, OSError) else \
            "a loop of links" if isinstance(error, RuntimeError) else "not a file name"
        raise _Refused("RES-MISSING", f"image file cannot be read: {why}") from None


def _make_asset(data: bytes, options: Options) -> Asset:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Pillow only warns between its two limits; a library must not print, so refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                (width, height), kind = image.size, image.format or ""
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ResourceError("image has too many pixels to decode safely") from None
    except Exception:  # Pillow's parsers raise many kinds of error on hostile bytes
        raise _Refused("RES-FORMAT", "not an image this tool can read") from None
    if width * height > options.max_image_pixels:
        raise ResourceError(f"image is {width}x{height} pixels, more than the limit of "
                            f"{options.max_image_pixels} pixels")
    media_type = MEDIA_TYPES.get(kind)
    if media_type is None:
        raise _Refused("RES-FORMAT", f"{kind or 'unknown'} images are not supported")
    digest = hashlib.sha256(data).hexdigest()[:16]
    return Asset(f"images/{digest}.{_SUFFIX[media_type]}", media_type, data, width, height)


def _line_of(needle: str, source: Source) -> int | None:
    """The first line of the body that holds *needle* (its first 200 characters)."""
    lines = enumerate(source.body.split("\n"), start=source.body_line_offset + 1)
    return next((number for number, line in lines if needle[:200] in line), None) if needle else None
