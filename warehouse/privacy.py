"""The privacy rules every reader of the warehouse applies: what looks like an identifier, and how it is masked.

Reports, exploration, the tracker findings and the forwarder's egress guard share them, so a value masked
on one screen is masked on every other, and the guard refuses what a report would hide.
"""

import re
import unicodedata
from typing import Any
from urllib.parse import unquote

# Text that identifies a person or their record: run by the egress guard on every string that would leave.
DETECTORS: dict[str, re.Pattern[str]] = {
    "an email address": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    "a URL": re.compile(r"(?i)\b(?:https?://|www\.)\S+"
                        r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|co|us|uk|de|health)\b"),
    "an IP address": re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){2,7}"),
    "a social security number": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "a phone number": re.compile(r"(?<![\w-])(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?![\w-])"),
    "a date of birth": re.compile(r"\b(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b"
                                r"|\b(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:19|20)?\d{2}\b"),
    "a record number": re.compile(r"(?i)\b(?:mrn|mr#|record|patient|acct|account)\W{0,3}\w*\d"
                                r"|(?<![\w-])\d{6,12}(?![\w-])"),
    "a ZIP code": re.compile(r"(?<![\w-])\d{5}(?:-\d{4})?(?![\w-])"),
}
# What a note written by staff (an annotation) may not hold. Stricter than `DETECTORS` where notes are
# written carelessly (a chart number, a phone with an extension), looser where they are made of dates and times.
_IN_NOTES: dict[str, re.Pattern[str]] = {
    "an email address": re.compile(r"[\w.+-]@[\w-]"),
    "a phone number": re.compile(r"\+\d{1,3}(?:[ .-]?\d){6,}|\(?\b\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}"),
    "a social security number": re.compile(r"\b\d{3}[ .-]\d{2}[ .-]\d{4}\b"),
    "a record number": re.compile(r"\d{5,}|(?i:\b(?:mrn|mr#|record|patient|acct|account)\W{0,3}\w*\d)"),
    "an IP address": re.compile(r"\b\d{1,3}(?:[.-]\d{1,3}){3}\b|(?i:\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){4,7})"),
}
_DASHES = str.maketrans({dash: "-" for dash in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"})
_BLANKS = frozenset("\u2800\u3164\u115f\u1160\uffa0")
"""Characters that show as nothing yet are not whitespace to Python."""
FREE_TEXT = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
"""Dimensions whose values anyone can write in a link: a forwarder sends them only as declared values."""
# A path segment that looks like a record, account or session number.
_ID_LIKE = re.compile(r"\d{5,}|[0-9a-f]{16,}|[0-9a-f-]{32,}", re.IGNORECASE)
# A custom property's value that looks like an id, an email address or a phone number.
_IDENTIFYING = re.compile(r"\d{5,}|@|[0-9a-f]{16,}|\d{3}[ .-]\d{3,4}", re.IGNORECASE)
# Spreadsheets run a cell that starts with one of these.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plain_text(text: str) -> str:
    """`text` as a reader sees it: compatibility forms folded (＠ is @), dashes as `-`, control and invisible
    characters dropped or read as a space, runs of spaces as one."""
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES)
    kept = "".join(" " if c in _BLANKS or c.isspace() else c for c in folded
                   if unicodedata.category(c) not in ("Cc", "Cf") or c.isspace())
    return " ".join(kept.split())


def identifier_in_note(text: str) -> str | None:
    """What kind of identifier a staff note seems to hold, read with its percent-escapes as `plain_text`; or None."""
    read = plain_text(unquote(text))
    return next((kind for kind, pattern in _IN_NOTES.items() if pattern.search(read)), None)


def masked_path(path: str) -> str:
    """A URL path with each segment that looks like a record, account or session number replaced by `*`."""
    return "/".join("*" if _ID_LIKE.search(segment) else segment for segment in path.split("/"))


def masked_path_sql(column: str) -> str:
    """`masked_path` as a ClickHouse expression over `column`, for reports that group by the masked path."""
    pattern = f"(?i){_sql_pattern(_ID_LIKE)}"
    # No match spans a '/', so one match over the whole path tells which paths need splitting: most do not.
    return (f"if(match({column}, '{pattern}'), arrayStringConcat(arrayMap(s -> if(match(s, '{pattern}'), '*', s), "
            f"splitByChar('/', {column})), '/'), {column})")


def masked_value_sql(column: str) -> str:
    """`masked_value` as a ClickHouse expression over `column`."""
    return f"if(match({column}, '(?i){_sql_pattern(_IDENTIFYING)}'), '*', {column})"


def masked_value(value: str) -> str:
    """A custom property's value, unless it looks like an id, an email address or a phone number."""
    return "*" if _IDENTIFYING.search(value) else value


def runs_in_a_spreadsheet(text: str) -> bool:
    return text.startswith(_FORMULA_STARTS)


def spreadsheet_cell(value: Any) -> Any:
    """A value as a cell that a spreadsheet shows and never runs: a leading formula character is quoted."""
    if isinstance(value, str) and runs_in_a_spreadsheet(value):
        return "'" + value
    return value


def _sql_pattern(pattern: re.Pattern[str]) -> str:
    """A pattern inside a ClickHouse string literal (RE2 reads these patterns as Python does)."""
    return pattern.pattern.replace("\\", "\\\\").replace("'", "\\'")
