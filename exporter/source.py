"""Stage 1: read a source file into a :class:`Source`: strict UTF-8, and YAML front matter read
with ``safe_load``, capped in size and depth, aliases refused; errors name the offset or line."""

from __future__ import annotations

import functools
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .errors import MetadataError, SourceError, reason
from .options import Options

#: The kinds of article file a folder is searched for.
SUFFIXES = (".md", ".markdown", ".txt")
#: The name a source read from standard input goes by in messages.
STDIN = "<stdin>"

# Characters that XML 1.0 forbids (surrogates come from YAML escapes such as "\ud800").
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
# Deepest nesting of lists and mappings accepted in front matter (PyYAML recurses per level).
_MAX_YAML_DEPTH = 32


class NotAMapping(MetadataError):
    """YAML that reads as text or a list, where keys and values were expected."""


@dataclass(frozen=True)
class Source:
    """One article as read from disk: its raw bytes, front matter and Markdown body."""

    path: Path
    raw: bytes
    front_matter: dict[str, Any] = field(hash=False)
    body: str
    #: The line of each front matter key, for errors that name it.
    front_matter_lines: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    #: Number of lines before the body (front matter and its fences), for error lines.
    body_line_offset: int = 0

    @property
    def stem(self) -> str:
        """The file name without its suffix: the name of every edition."""
        return "stdin" if self.path.name == STDIN else self.path.stem


def read_source(path: Path, options: Options, data: bytes | None = None) -> Source:
    """Read *path* (or the given *data* under that name) into a :class:`Source`."""
    if data is None:
        data = read_bytes(path, options)
    _check_size(len(data), path, options)
    front_matter, lines, body, offset = split_front_matter(decode_text(data, path), path, options)
    return Source(path=path, raw=data, front_matter=front_matter, body=body,
                  front_matter_lines=lines, body_line_offset=offset)


def _check_size(size: int, path: Path, options: Options) -> None:
    if size > options.max_source_bytes:
        raise SourceError(f"source is {size} bytes, more than the limit of "
                          f"{options.max_source_bytes} bytes", path=path)


def read_bytes(path: Path, options: Options) -> bytes:
    """The file's bytes, with errors that name it; refused when over the size limit."""
    try:
        if path.is_dir():
            raise SourceError("is a folder, not an article file", path=path)
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a pipe or a device would block or never end
            raise SourceError("is not a regular file", path=path)
        _check_size(status.st_size, path, options)
        with path.open("rb") as handle:
            # One byte past the limit, so a file that grows meanwhile is caught too.
            data = handle.read(options.max_source_bytes + 1)
    except (FileNotFoundError, PermissionError) as error:
        raise SourceError(reason(error), path=path) from None
    except OSError as error:
        raise SourceError(f"cannot read: {reason(error)}", path=path) from None
    _check_size(len(data), path, options)
    return data


def read_stream(stream: BinaryIO, options: Options) -> bytes:
    """An article from a pipe, read no further than one byte past the size limit."""
    data = stream.read(options.max_source_bytes + 1)
    if len(data) > options.max_source_bytes:
        raise SourceError(f"larger than the limit of {options.max_source_bytes // (1024 * 1024)} "
                          "MiB; nothing was built", path=STDIN)
    return data


def decode_text(data: bytes, path: Path) -> str:
    """Decode UTF-8 (with or without a byte-order mark) and normalise line ends."""
    try:
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as error:
        raise SourceError(f"not valid UTF-8: byte 0x{data[error.start:error.start + 1].hex()} at "
                          f"offset {error.start}; save the file as UTF-8", path=path) from None
    if match := _XML_FORBIDDEN.search(text):
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        raise SourceError(f"control character U+{ord(match.group()):04X} at column {column} is not "
                          "allowed in a document", path=path, line=text.count("\n", 0, match.start()) + 1)
    return text


def split_front_matter(
    text: str, path: Path, options: Options
) -> tuple[dict[str, Any], dict[str, int], str, int]:
    """Split ``---`` fenced YAML front matter (or Hugo's ``+++`` fenced TOML) from the body: the
    mapping, the line of each key, the body and the number of lines before it."""
    lines = text.split("\n")
    fence = lines[0].rstrip()
    if fence not in ("---", "+++"):
        return {}, {}, text, 0
    end = next((i for i in range(1, len(lines)) if (_FENCE.match(lines[i]) if fence == "---"
                                                     else lines[i].rstrip() == fence)), None)
    if end is None:
        raise MetadataError(f"front matter opened with '{fence}' is never closed", path=path, line=1)
    block = "\n".join(lines[1:end])
    if len(block.encode("utf-8")) > options.max_front_matter_bytes:
        raise MetadataError(f"front matter is larger than {options.max_front_matter_bytes} bytes",
                            path=path, line=1)
    try:
        mapping, key_lines = (load_yaml_mapping if fence == "---" else _load_toml)(block, path, 2)
    except NotAMapping:  # Markdown after all: a rule, a setext heading ("---\nFoo\n---")
        return {}, {}, text, 0
    return mapping, key_lines, "\n".join(lines[end + 1 :]), end + 1


def _load_toml(block: str, path: Path, first_line: int) -> tuple[dict[str, Any], dict[str, int]]:
    """A TOML front matter's mapping, its dates and times as text (as YAML's are kept), and the
    line of each key."""
    import tomllib

    try:
        mapping = tomllib.loads(block)
    except tomllib.TOMLDecodeError as error:
        where = re.search(r"at line (\d+)", str(error))
        raise MetadataError(f"invalid TOML: {str(error).split(' (at ')[0]}", path=path,
                            line=int(where[1]) + first_line - 1 if where else first_line) from None
    except RecursionError:
        raise MetadataError("front matter is nested too deeply", path=path, line=first_line) from None

    def text(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: text(item) for key, item in value.items()}
        if isinstance(value, list):
            return [text(item) for item in value]
        if isinstance(value, str) and (bad := _XML_FORBIDDEN.search(value)):
            raise MetadataError(f"character U+{ord(bad.group()):04X} is not allowed in metadata", path=path)
        return value.isoformat() if hasattr(value, "isoformat") else value

    key_lines = {match[1]: number for number, line in enumerate(block.split("\n"), start=first_line)
                 if (match := re.match(r"\s*([A-Za-z0-9_-]+)\s*=", line))}
    return text(mapping), key_lines


def load_yaml_mapping(block: str, path: Path, first_line: int = 1) -> tuple[dict[str, Any], dict[str, int]]:
    """``safe_load`` a YAML mapping and the line of each key, dates kept as text; aliases, deep
    nesting and characters XML forbids are refused from the events, before PyYAML builds anything."""
    import yaml  # here, so a build that finds its outputs up to date never loads it

    # libyaml's parser where PyYAML has it (its wheels do): ten times as fast, and it reads what
    # PyYAML's own refuses (a tab between a key and its value, "[Who won?, Pokrovsk]"); on an
    # error PyYAML's own says more precisely what is wrong ("found character '@' that cannot...").
    pure = _text_dates(yaml.SafeLoader)
    fast = _text_dates(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    key_lines: dict[str, int] = {}
    try:
        try:
            value = _load_checked(block, path, first_line, fast, key_lines)
        except yaml.YAMLError:
            value = _load_checked(block, path, first_line, pure, key_lines)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        raise MetadataError(f"invalid YAML: {problem}", path=path,
                            line=mark.line + first_line if mark is not None else None) from None
    except yaml.YAMLError as error:
        raise MetadataError(f"invalid YAML: {error}", path=path, line=first_line) from None
    except RecursionError:
        raise MetadataError("front matter is nested too deeply", path=path, line=first_line) from None
    except ValueError as error:  # a value tagged as a type it is not (!!float abc, !!timestamp)
        raise MetadataError(f"invalid value: {error}", path=path, line=first_line) from None
    if value is None:
        return {}, {}
    if not isinstance(value, dict):
        raise NotAMapping("front matter must be a mapping of keys to values", path=path,
                          line=first_line)
    return {str(key): item for key, item in value.items()}, key_lines


@functools.cache
def _text_dates(loader: Any) -> Any:
    """*loader* without YAML's implicit timestamps, so a date stays the text written."""
    resolvers = {first: [(tag, pattern) for tag, pattern in entries if not tag.endswith(":timestamp")]
                 for first, entries in loader.yaml_implicit_resolvers.items()}
    return type("TextDateLoader", (loader,), {"yaml_implicit_resolvers": resolvers})


def _load_checked(block: str, path: Path, first_line: int, loader: Any, key_lines: dict[str, int]) -> Any:
    """The YAML value of *block* once its events pass the checks; fills *key_lines* with the
    line of each key of the top-level mapping."""
    import yaml

    depth, children = 0, 0
    for event in yaml.parse(block, Loader=loader):
        line = event.start_mark.line + first_line if event.start_mark else None
        if depth == 1 and isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent,
                                             yaml.AliasEvent)):
            if children % 2 == 0 and isinstance(event, yaml.ScalarEvent) and line is not None:
                key_lines.setdefault(event.value, line)
            children += 1
        if isinstance(event, yaml.AliasEvent):
            raise MetadataError("YAML aliases are not allowed in metadata", path=path, line=line)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_YAML_DEPTH:
                raise MetadataError(f"front matter is nested more than {_MAX_YAML_DEPTH} levels deep",
                                    path=path, line=line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent) and (bad := _XML_FORBIDDEN.search(event.value)):
            raise MetadataError(f"character U+{ord(bad.group()):04X} is not allowed in metadata",
                                path=path, line=line)
    return yaml.load(block, Loader=loader)
