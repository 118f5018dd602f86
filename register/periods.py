"""Retention periods: read from ISO 8601 or plain text, kept as a timedelta, shown in plain English.

Accepted input:
  - ISO 8601 durations: `P30D`, `PT12H`, `P2W`, `P1Y6M`, `P1DT12H`;
  - plain text: `30 days`, `12 hours`, `2 weeks`, `1 year`, `90 minutes`, `1 day 12 hours`;
  - "not retained" (also `none`, `0`, `P0D`): the data is used on arrival and never stored.

Years and months have no fixed length, so a year counts as 365 days and a month as 30 days;
an entry that wants exactness says `P365D` or `30 days`.
"""

from __future__ import annotations

import re
from datetime import timedelta

NOT_RETAINED = timedelta(0)
NOT_RETAINED_WORDS = ("not retained", "not stored", "none", "no retention", "0")
# The longest retention that makes sense for street sensor data; a typo such as "3000 years"
# is far more likely than a real need.
LONGEST = timedelta(days=365 * 100)

_SECONDS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_UNIT_ALIASES = {
    "s": "second",
    "sec": "second",
    "secs": "second",
    "min": "minute",
    "mins": "minute",
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "d": "day",
    "w": "week",
    "wk": "week",
    "mo": "month",
    "y": "year",
    "yr": "year",
}
_ISO = re.compile(
    r"^P(?:(?P<year>\d+)Y)?(?:(?P<month>\d+)M)?(?:(?P<week>\d+)W)?(?:(?P<day>\d+)D)?"
    r"(?:T(?:(?P<hour>\d+)H)?(?:(?P<minute>\d+)M)?(?:(?P<second>\d+)S)?)?$"
)
_TEXT_PART = re.compile(r"(\d+)\s*([a-z]+)")


class RetentionError(ValueError):
    """Text that is not a retention period; the message says what is accepted."""


class PeriodTooLong(RetentionError):
    """A period longer than LONGEST: almost always a typo, and past what a timedelta holds."""


HELP = "use an ISO 8601 duration such as P30D or PT12H, text such as '30 days', or 'not retained'"


def parse(text: str) -> timedelta:
    """Read a retention period; raise RetentionError with a helpful message when it is not one."""
    cleaned = " ".join(str(text).strip().lower().split())
    if not cleaned:
        raise RetentionError(f"is empty; {HELP}")
    if cleaned in NOT_RETAINED_WORDS:
        return NOT_RETAINED
    seconds = _iso_seconds(cleaned.upper()) if cleaned.startswith("p") else _text_seconds(cleaned)
    shown = str(text).strip()[:40]
    if seconds is None:
        raise RetentionError(f"'{shown}' is not a retention period; {HELP}")
    # Compared as whole seconds before any timedelta is built: a timedelta of
    # "99999999999999999999 days" would overflow rather than be refused.
    if seconds > LONGEST.total_seconds():
        raise PeriodTooLong(f"'{shown}' is longer than 100 years; check the number")
    return timedelta(seconds=seconds)


def _amount(digits: str) -> int:
    """A number of units; past 15 digits it is far beyond LONGEST, so its exact value never matters
    (and int() refuses numbers of more than 4,300 digits)."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= 15 else 10**15


def _iso_seconds(text: str) -> int | None:
    match = _ISO.match(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        return None
    return sum(_amount(v) * _SECONDS[unit] for unit, v in match.groupdict().items() if v)


def _text_seconds(text: str) -> int | None:
    words = text.replace(",", " ").replace(" and ", " ")
    parts = _TEXT_PART.findall(words)
    if not parts or _TEXT_PART.sub("", words).strip():
        return None
    seconds = 0
    for amount, word in parts:
        unit = _UNIT_ALIASES.get(word, word.rstrip("s") if word.endswith("s") else word)
        if unit not in _SECONDS:
            return None
        seconds += _amount(amount) * _SECONDS[unit]
    return seconds


def _count(amount: int, unit: str) -> str:
    return f"{amount} {unit}" + ("" if amount == 1 else "s")


def describe(period: timedelta) -> str:
    """Plain English for residents: '30 days', '12 hours', '1 year', 'not retained'."""
    seconds = int(period.total_seconds())
    if seconds <= 0:
        return "not retained"
    for unit in ("year", "week", "day", "hour", "minute"):
        size = _SECONDS[unit]
        # Weeks only when that is how people would say it (14 days is "2 weeks"; 30 is "30 days").
        if seconds % size == 0 and (unit != "week" or seconds // size <= 8):
            return _count(seconds // size, unit)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second")]
    return " ".join(_count(n, unit) for n, unit in parts if n)


def to_iso(period: timedelta) -> str:
    """The ISO 8601 form used in exports: P30D, PT12H, P1DT12H, P0D for 'not retained'."""
    seconds = int(period.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    date_part = f"{days}D" if days else ""
    time_part = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    if not date_part and not time_part:
        return "P0D"
    return "P" + date_part + (f"T{time_part}" if time_part else "")
