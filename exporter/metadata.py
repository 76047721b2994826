"""Validate and normalise front matter into a typed, immutable :class:`Metadata`."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .errors import Diagnostic, MetadataError

# BCP 47 language tags, simplified: a primary subtag and optional subtags.
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
#: The namespace of every identifier this tool derives, so they never clash with others.
IDENTIFIER_NAMESPACE = uuid.UUID("5b0c4f7e-2d1a-5e0f-9a43-6f1e2c3b7d10")

# This tool's keys and pandoc's (its EPUB metadata and common variables), read where pandoc
# puts them (README, "Front matter"); pandoc's others shape nothing here and earn a note.
KNOWN_KEYS = frozenset({
    "title", "subtitle", "author", "authors", "creator", "date", "modified", "language", "lang",
    "description", "abstract", "subjects", "subject", "keywords", "tags", "identifier",
    "publisher", "rights", "source", "cover", "cover-image",
})  # fmt: skip
PANDOC_ONLY = frozenset({
    "contributor", "type", "format", "relation", "coverage", "css", "stylesheet",
    "belongs-to-collection", "group-position", "page-progression-direction", "ibooks",
    "accessModes", "accessModeSufficient", "accessibilityFeatures", "accessibilityHazards",
    "accessibilitySummary", "toc-title", "documentclass", "classoption", "geometry", "papersize",
    "fontsize", "mainfont", "header-includes", "include-before", "include-after", "toc",
    "toc-depth", "numbersections", "bibliography", "csl", "link-citations", "nocite",
})  # fmt: skip


class Labels(NamedTuple):
    """The words the editions add to an article's own, in its language."""

    contents: str
    notes: str
    cover: str
    landmarks: str
    pages: str
    back_to_note: str  # (%d: the note's number)
    by: str  # (after the title in the cover's description; {}: the authors)
    and_: str  # (before the last of several authors)


#: Labels in the languages articles are most often written in; English for the others.
_LABELS = {
    "en": Labels("Contents", "Notes", "Cover", "Landmarks", "Pages", "Back to note %d", ", by {}", " and "),
    "de": Labels("Inhalt", "Anmerkungen", "Umschlag", "Orientierungspunkte", "Seiten",
                 "Zurück zur Anmerkung %d", ", von {}", " und "),
    "fr": Labels("Sommaire", "Notes", "Couverture", "Repères", "Pages", "Retour à la note %d", ", par {}",
                 " et "),
    "es": Labels("Índice", "Notas", "Cubierta", "Puntos de referencia", "Páginas", "Volver a la nota %d",
                 ", por {}", " y "),
    "it": Labels("Indice", "Note", "Copertina", "Punti di riferimento", "Pagine", "Torna alla nota %d",
                 ", di {}", " e "),
    "pt": Labels("Sumário", "Notas", "Capa", "Pontos de referência", "Páginas", "Voltar à nota %d",
                 ", por {}", " e "),
    "nl": Labels("Inhoud", "Noten", "Omslag", "Oriëntatiepunten", "Pagina’s", "Terug naar noot %d",
                 ", door {}", " en "),
    "pl": Labels("Spis treści", "Przypisy", "Okładka", "Punkty orientacyjne", "Strony",
                 "Powrót do przypisu %d", " — {}", " i "),
    "ru": Labels("Содержание", "Примечания", "Обложка", "Ориентиры", "Страницы",
                 "Назад к примечанию %d", " — {}", " и "),
    "uk": Labels("Зміст", "Примітки", "Обкладинка", "Орієнтири", "Сторінки", "Назад до примітки %d",
                 " — {}", " і "),
}


#: Languages written right to left (primary subtags), and scripts that are (script subtags).
_RIGHT_TO_LEFT = {"ar", "arc", "ckb", "dv", "fa", "he", "ps", "sd", "syr", "ug", "ur", "yi"}
_RIGHT_TO_LEFT_SCRIPTS = {"adlm", "arab", "hebr", "nkoo", "syrc", "thaa"}


def right_to_left(language: str) -> bool:
    """Whether the language tag *language* names a language or script written right to left."""
    primary, *rest = language.lower().split("-")
    return primary in _RIGHT_TO_LEFT or bool(_RIGHT_TO_LEFT_SCRIPTS.intersection(rest))


def labels(language: str) -> Labels:
    """The labels for the language tag *language*: English where none are known, with "&"
    between authors, which reads in any language."""
    return _LABELS.get(language.split("-")[0].lower()) or _LABELS["en"]._replace(and_=" & ")


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
# A year, or a year and month (ISO 8601 at those precisions).
_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d\d))?")
# A day, with an optional time and zone, as ISO 8601, YAML and Jekyll write it
# ("2025-11-03", "2025-11-03T10:00:00Z", "2015-03-16 13:48:00 +0100", "2001-12-14 21:59:43.10 -5").
_MOMENT = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[Tt ]\s*(\d{1,2}):(\d\d)(?::(\d\d)(?:\.(\d+))?)?"
                     r"\s*(?:[Zz]|([+-])(\d{1,2})(?::?(\d\d))?)?)?")
# English dates in words: "3 November 2025", "November 3, 2025", "Nov. 2025".
_WORDY_DATE = re.compile(r"(?:(\d{1,2})(?:st|nd|rd|th)?\s+)?([A-Za-z]{3,9})\.?"
                         r"(?:\s+(\d{1,2})(?:st|nd|rd|th)?,?)?\s+(\d{4})")


@dataclass(frozen=True)
class PublicationDate:
    """A date as the front matter gives it, and *iso*: W3CDTF at the precision written
    (``2025``, ``2025-11-03``), or None when the text cannot be read (``Spring 2025``)."""

    written: str
    iso: str | None = None

    @property
    def first_day(self) -> dt.date | None:
        """The first day the date covers, for ordering and as a moment of last change."""
        return dt.date(*map(int, [*self.iso.split("-"), "1", "1"][:3])) if self.iso else None

    def display(self, language: str) -> str:
        """An ISO date in the words of *language* (English; others keep ISO), else as written."""
        day = self.first_day
        if day is None or self.iso is None or not (_PARTIAL_DATE.fullmatch(self.written)
                                                   or _MOMENT.fullmatch(self.written)):
            return self.written
        if not language.lower().startswith("en"):
            return self.iso
        words = [str(day.day), _MONTHS[day.month - 1], str(day.year)][2 - self.iso.count("-"):]
        return " ".join(words)


@dataclass(frozen=True)
class Metadata:
    """What is known about an article, every value already checked."""

    title: str
    language: str = "en"
    subtitle: str | None = None
    authors: tuple[str, ...] = ()
    date: PublicationDate | None = None
    modified: dt.datetime | None = None
    description: str | None = None
    subjects: tuple[str, ...] = ()
    identifier: str | None = None
    publisher: str | None = None
    rights: str | None = None
    source_url: str | None = None
    #: An image file for the cover, relative to the article's folder.
    cover: str | None = None

    def derived_identifier(self) -> str:
        """The front matter's identifier, else a ``urn:uuid`` derived from title, date and authors."""
        if self.identifier:
            return self.identifier
        date = (self.date.iso or self.date.written) if self.date else ""
        key = "\x1f".join([self.title, date, *self.authors])
        return f"urn:uuid:{uuid.uuid5(IDENTIFIER_NAMESPACE, key)}"

    def modified_at(self, source_date_epoch: int | None) -> dt.datetime:
        """The editions' last change, never the wall clock: ``modified``, else ``date`` at
        midnight UTC, else ``SOURCE_DATE_EPOCH``, else the ZIP epoch 1980-01-01."""
        day = self.date.first_day if self.date else None
        if self.modified is not None:
            return self.modified
        if day:
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return dt.datetime.fromtimestamp(315532800 if source_date_epoch is None else source_date_epoch,
                                         tz=dt.UTC)


def read_metadata(
    front_matter: dict[str, Any], path: Path, fallback_title: str, lines: dict[str, int] | None = None
) -> tuple[Metadata, tuple[Diagnostic, ...]]:
    """Check *front_matter* (*lines*: the line of each key in *path*) into :class:`Metadata`,
    with any warnings."""
    warnings = [
        Diagnostic("META-PANDOC", f"pandoc's front matter key {key!r} has no use in these "
                   "editions; ignored", str(path), severity="note") if key in PANDOC_ONLY
        else Diagnostic("META-UNKNOWN", f"unknown front matter key {key!r} ignored", str(path))
        for key in front_matter
        if key not in KNOWN_KEYS
    ]
    lines = lines or {}
    get = front_matter.get
    roles = (None, "author", "aut")  # pandoc's creator roles that make an author (and MARC's)

    def text(*keys: str) -> str | None:
        key = next((key for key in keys if key in front_matter), keys[0])
        return _text(get(key), key, path, lines.get(key))

    def texts(*keys: str, every: bool = False) -> tuple[str, ...]:
        """The items of the first of *keys* given (of each of them, with *every*), once each."""
        found: list[str] = []
        for key in [key for key in keys if key in front_matter][: None if every else 1]:
            value = get(key)
            items: list[Any] = value if isinstance(value, list) else [value]
            if key == "creator":
                items = [item for item in items if not isinstance(item, dict) or item.get("role") in roles]
            found += filter(None, (_text(item, key, path, lines.get(key)) for item in items))
        return tuple(dict.fromkeys(found))

    title, subtitle = stated_title(front_matter, path, lines.get("title"))

    language = text("language", "lang") or "en"
    if not LANGUAGE.fullmatch(language):
        raise MetadataError(f"language {language!r} is not a BCP 47 tag such as 'en'", path=path,
                            line=lines.get("language", lines.get("lang")))
    metadata = Metadata(
        title=title or fallback_title,
        language=language,
        subtitle=text("subtitle") or subtitle,
        authors=texts("authors", "author", "creator"),
        date=_date(text("date"), path, lines.get("date")),
        modified=_datetime(text("modified"), path, lines.get("modified")),
        description=text("description", "abstract"),
        subjects=texts("subject", "subjects", "keywords", "tags", every=True),
        identifier=next(iter(texts("identifier")), None),  # (pandoc's list: the first names it)
        publisher=text("publisher"),
        rights=text("rights"),
        source_url=text("source"),
        cover=text("cover", "cover-image"),
    )
    return metadata, tuple(warnings)


def stated_title(front_matter: dict[str, Any], path: Path,
                 line: int | None = None) -> tuple[str | None, str | None]:
    """The title and subtitle the front matter states, as text or in pandoc's forms."""
    value = front_matter.get("title")
    title, subtitle = _pandoc_titles(value, path, line)
    return (title if isinstance(value, list) else _text(value, "title", path, line)), subtitle


def _pandoc_titles(value: Any, path: Path, line: int | None) -> tuple[str | None, str | None]:
    """The main title and subtitle of pandoc's title list (``[{type: main, text: ...}, ...]``)."""
    if not isinstance(value, list):
        return None, None
    titles: dict[str, str | None] = {}
    for item in value:
        kind = item.get("type", "main") if isinstance(item, dict) else "main"
        if kind not in ("main", "subtitle", "short", "collection", "edition", "expanded"):
            raise MetadataError(f"'title' entry of type {kind!r}: pandoc's types are main, "
                                "subtitle, short, collection, edition and expanded",
                                path=path, line=line)
        titles.setdefault(kind, _text(item, "title", path, line))
    return titles.get("main") or titles.get("expanded"), titles.get("subtitle")


def _text(value: Any, key: str, path: Path, line: int | None) -> str | None:
    if isinstance(value, dict) and ("text" in value or "name" in value):
        value = value.get("text", value.get("name"))  # pandoc's {text, ...}; a template's {name}
    if value is None:
        return None
    if isinstance(value, dt.date):  # a value tagged !!timestamp
        return value.isoformat()
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = " ".join(str(value).split())
        return text or None
    raise MetadataError(f"{key!r} must be text, not {type(value).__name__}", path=path, line=line)


def _date(text: str | None, path: Path, line: int | None) -> PublicationDate | None:
    """Read *text* as a date where it can be; an impossible one (2025-02-30) is an error."""
    if text is None:
        return None
    partial, wordy = _PARTIAL_DATE.fullmatch(text), _WORDY_DATE.fullmatch(text)
    month_name = wordy and next((n for n in _MONTHS if n.lower().startswith(wordy[2].lower())), None)
    try:
        if partial:
            year, month, day = partial[1], partial[2], None
        elif _moment(text) is not None:
            year, month, day = text[:4], text[5:7], text[8:10]
        elif wordy and month_name:
            day = wordy[1] or wordy[3]
            year, month, day = wordy[4], f"{_MONTHS.index(month_name) + 1:02}", day and f"{int(day):02}"
        else:
            return PublicationDate(text)
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError as error:
        raise MetadataError(f"date {text!r} does not exist: {error}", path=path, line=line) from None
    return PublicationDate(text, "-".join(part for part in (year, month, day) if part))


def _datetime(text: str | None, path: Path, line: int | None) -> dt.datetime | None:
    """*text* as a moment in UTC; an error if it is not one."""
    if text is None:
        return None
    try:
        moment = _moment(text)
    except ValueError as error:
        raise MetadataError(f"modified {text!r} does not exist: {error}", path=path, line=line) from None
    if moment is None:
        raise MetadataError(f"modified {text!r} is not a date and time such as 2025-11-03T12:00:00Z",
                            path=path, line=line)
    return moment.astimezone(dt.UTC)


def _moment(text: str) -> dt.datetime | None:
    """The moment *text* names (UTC unless it gives a zone), None if not of that form;
    ValueError if no real moment (2025-02-30, 25:00)."""
    if (match := _MOMENT.fullmatch(text)) is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, zone_hours, zone_minutes = match.groups()
    offset = dt.timedelta(hours=int(zone_hours or 0), minutes=int(zone_minutes or 0))
    return dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                       int(second or 0), int((fraction or "0")[:6].ljust(6, "0")),
                       tzinfo=dt.timezone(-offset if sign == "-" else offset))
