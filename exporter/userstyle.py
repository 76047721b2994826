"""A user's stylesheet made whole, its local ``@import``s inlined and the files it names embedded,
so it travels without its folder; only ``data:`` URLs and files in that folder may be named."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import ResourceError, StyleError, reason

#: ``@import``s nested at most, bytes of files one stylesheet may embed, files it may read, and
#: bytes of text, imports included.
MAX_IMPORT_DEPTH, MAX_EMBEDDED_BYTES, MAX_FILES, MAX_TEXT_BYTES = 8, 32 << 20, 64, 2 << 20
#: What a stylesheet may name, by the first bytes of the file: images and fonts every reader has.
_SIGNATURES = [(b"\x89PNG\r\n\x1a\n", "image/png", ".png"), (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
               (b"GIF8", "image/gif", ".gif"), (b"OTTO", "font/otf", ".otf"),
               (b"\x00\x01\x00\x00", "font/ttf", ".ttf"), (b"true", "font/ttf", ".ttf"),
               (b"wOFF", "font/woff", ".woff"), (b"wOF2", "font/woff2", ".woff2")]
#: CSS functions whose string arguments are addresses a reader would fetch.
ADDRESS_FUNCTIONS = {"url", "src", "image", "image-set", "-webkit-image-set"}

#: Turns a file a stylesheet names (its path and bytes) into the address the edition uses.
Embed = Callable[[Path, bytes], str]


def data_url(path: Path, data: bytes) -> str:
    """*data* as a ``data:`` URL, typed by what it holds."""
    media_type, _ = file_type(path, data)
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def file_type(path: Path, data: bytes) -> tuple[str, str]:
    """The media type and suffix of a file a stylesheet names, from its bytes (an EPUB must declare
    the true type); ValueError for anything but the images and fonts every reader shows."""
    for signature, media_type, suffix in _SIGNATURES:
        if data.startswith(signature):
            return media_type, suffix
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if path.suffix.lower() == ".svg" and b"<svg" in data[:4096]:
        # Scripts, HTML inside and references to other files do not travel.
        if re.search(rb"<script|<foreignObject|href\s*=\s*[\"'](?!#|data:)", data, re.IGNORECASE):
            raise ValueError("is an SVG with scripts, foreign objects or links to other files")
        return "image/svg+xml", ".svg"
    raise ValueError("is not a PNG, JPEG, GIF, WebP or SVG image, nor an OpenType or WOFF font")


@dataclass
class PackageFiles:
    """Files a stylesheet names, as EPUB package items beside it (``user/<digest>.<suffix>``)."""

    #: The package path of each file (relative to the stylesheet) -> (media type, bytes).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def __call__(self, path: Path, data: bytes) -> str:
        media_type, suffix = file_type(path, data)
        name = f"user/{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
        self.files[name] = (media_type, data)
        return name


def resolve_stylesheet(path: Path, embed: Embed = data_url) -> str:
    """The text of the stylesheet *path*, with its imports inlined and its files embedded."""
    return "".join(resolve_parts(path, embed))


def resolve_parts(path: Path, embed: Embed = data_url) -> tuple[str, str]:
    """The stylesheet *path* made whole, as its ``@namespace`` rules and the rest (namespace
    rules must precede all others, so a sheet joined after others needs them moved first)."""
    resolver = _Resolver(path.resolve().parent, embed)
    body = resolver.resolve(path, depth=0)
    return "".join(f"{rule}\n" for rule in resolver.namespaces), body


def stylesheet_files(path: Path) -> tuple[Path, ...]:
    """The stylesheet *path* and every file it reads (imports, fonts, images), sorted."""
    resolver = _Resolver(path.resolve().parent, data_url)
    resolver.resolve(path, depth=0)
    return tuple(sorted({path.resolve(), *resolver.files}))


class _Resolver:
    def __init__(self, root: Path, embed: Embed):
        self.root, self.embed, self.embedded, self.text = root, embed, 0, 0
        self.files: set[Path] = set()  # (a file named many times counts, and is read, once)
        self.addresses: dict[Path, str] = {}
        self.namespaces: list[str] = []

    def resolve(self, path: Path, depth: int) -> str:
        import tinycss2

        try:
            if not path.is_file():
                raise StyleError("not a regular file", path=path)
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise StyleError(f"stylesheet is not UTF-8 (byte offset {error.start})", path=path) from None
        except OSError as error:
            raise StyleError(f"cannot read stylesheet: {reason(error)}", path=path) from None
        self.text += len(text)
        if self.text > MAX_TEXT_BYTES:
            raise StyleError(f"the stylesheet and its imports pass {MAX_TEXT_BYTES >> 20} MiB "
                             "of text", path=path)
        try:
            rules = tinycss2.parse_stylesheet(text, skip_comments=True)
        except RecursionError:
            raise StyleError("stylesheet is nested too deeply to read", path=path) from None
        parts: list[str] = []
        for rule in rules:
            keyword = rule.lower_at_keyword if rule.type == "at-rule" else None
            if keyword == "import":
                parts.append(self._imported(rule, path, depth))
            elif keyword == "namespace":
                self.namespaces.append(tinycss2.serialize([rule]))  # (a name, never fetched)
            elif keyword != "charset" and rule.type != "error":  # (UTF-8 is assumed)
                if rule.type in ("at-rule", "qualified-rule"):
                    self._rewrite(rule.prelude, path)
                    self._rewrite(rule.content or (), path)
                parts.append(tinycss2.serialize([rule]))
        return "".join(parts)

    def _imported(self, rule: Any, path: Path, depth: int) -> str:
        """The stylesheet *rule* imports, resolved and wrapped in its layer, supports and media."""
        import tinycss2

        tokens = [token for token in rule.prelude if token.type not in ("whitespace", "comment")]
        address = _address_of(tokens[0]) if tokens else None
        if address is None:
            raise ResourceError("@import names no stylesheet", path=path, line=rule.source_line)
        if depth >= MAX_IMPORT_DEPTH:
            raise ResourceError(f"@import nested more than {MAX_IMPORT_DEPTH} deep",
                                path=path, line=rule.source_line)
        imported = self.resolve(self._local(address, path, rule.source_line), depth + 1)
        # What the import applies to: a layer, a supports() condition, then media queries.
        rest = [token for token in rule.prelude[rule.prelude.index(tokens[0]) + 1:]
                if token.type != "comment"]
        wrappers = []
        for name in ("layer", "supports"):
            while rest and rest[0].type == "whitespace":
                rest.pop(0)
            first = rest[0] if rest else None
            if first is not None and name == "layer" and first.type == "ident" \
                    and first.lower_value == "layer":
                wrappers.append("@layer")
            elif first is not None and first.type == "function" and first.lower_name == name:
                inner = tinycss2.serialize(first.arguments).strip()
                wrappers.append(f"@layer {inner}" if name == "layer" else f"@supports ({inner})")
            else:
                continue
            rest = rest[1:]
        media = tinycss2.serialize(rest).strip()
        if media:
            wrappers.append(f"@media {media}")
        for wrapper in reversed(wrappers):
            imported = f"{wrapper} {{\n{imported}\n}}"
        return f"{imported}\n"

    def _rewrite(self, tokens: Iterable[Any], path: Path) -> None:
        """Embed every file that *tokens* name, in place."""
        from tinycss2.serializer import serialize_string_value, serialize_url

        for token in tokens or ():
            if token.type == "url":
                token.value = self._embedded(token.value, path, token.source_line)
                token.representation = f"url({serialize_url(token.value)})"
            elif token.type == "function":
                if token.lower_name in ADDRESS_FUNCTIONS:
                    for argument in token.arguments:
                        if argument.type == "string":
                            argument.value = self._embedded(argument.value, path,
                                                            argument.source_line)
                            argument.representation = f'"{serialize_string_value(argument.value)}"'
                self._rewrite(token.arguments, path)
            elif token.type in ("() block", "[] block", "{} block"):
                self._rewrite(token.content, path)

    def _embedded(self, address: str, path: Path, line: int) -> str:
        stripped = address.strip()
        if not stripped or stripped.startswith("#") or stripped.lower().startswith("data:"):
            return address
        file = self._local(stripped, path, line)
        key = file.resolve()  # (a file named many ways is read and counted once)
        if key in self.addresses:
            return self.addresses[key]
        try:
            data = file.read_bytes()
        except OSError as error:
            raise ResourceError(f"{address!r}: {reason(error)}", path=path, line=line) from None
        self.embedded += len(data)
        if self.embedded > MAX_EMBEDDED_BYTES:
            raise ResourceError(f"the files the stylesheet names pass {MAX_EMBEDDED_BYTES >> 20} "
                                "MiB", path=path, line=line)
        try:
            self.addresses[key] = self.embed(file, data)
        except ValueError as refusal:
            raise ResourceError(f"{address!r} {refusal}", path=path, line=line) from None
        return self.addresses[key]

    def _local(self, address: str, path: Path, line: int) -> Path:
        """The file *address* names, which must lie in the stylesheet's folder; else refused."""
        parts = urlsplit(address.strip())
        target = path.parent / unquote(parts.path)
        try:
            inside = not (parts.scheme or parts.netloc or address.strip().startswith("/")) and \
                target.resolve().is_relative_to(self.root)
        except (OSError, ValueError, RuntimeError):
            inside = False
        if not inside:
            raise ResourceError(
                f"stylesheet refers to {address!r}: only data: URLs and files in the "
                "stylesheet's own folder may be used, never the network or other files",
                path=path, line=line)
        self.files.add(target.resolve())
        if len(self.files) > MAX_FILES:
            raise ResourceError(f"the stylesheet reads more than {MAX_FILES} files", path=path,
                                line=line)
        if not target.exists():
            raise ResourceError(f"{address!r}: no such file", path=path, line=line)
        if not target.is_file():  # (a pipe or a device would never end)
            raise ResourceError(f"{address!r} is not a regular file", path=path, line=line)
        return target


def _address_of(token: Any) -> str | None:
    if token.type in ("url", "string"):
        return str(token.value)
    if token.type == "function" and token.lower_name == "url":
        strings = [argument for argument in token.arguments if argument.type == "string"]
        return str(strings[0].value) if strings else None
    return None
