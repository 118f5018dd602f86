"""Retention periods: ISO 8601 and plain text in, plain English and ISO 8601 out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from register import periods


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P30D", timedelta(days=30)),
        ("p30d", timedelta(days=30)),
        ("PT12H", timedelta(hours=12)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(weeks=2)),
        ("P1Y", timedelta(days=365)),
        ("P6M", timedelta(days=180)),
        ("PT90M", timedelta(minutes=90)),
        ("30 days", timedelta(days=30)),
        ("1 day", timedelta(days=1)),
        ("12 hours", timedelta(hours=12)),
        ("2 weeks", timedelta(weeks=2)),
        ("1 year", timedelta(days=365)),
        ("1 day 12 hours", timedelta(days=1, hours=12)),
        ("1 day, 12 hours", timedelta(days=1, hours=12)),
        ("90 mins", timedelta(minutes=90)),
        ("  30   Days ", timedelta(days=30)),
        ("not retained", timedelta(0)),
        ("Not Retained", timedelta(0)),
        ("none", timedelta(0)),
        ("P0D", timedelta(0)),
    ],
)
def test_parse_accepts_iso_and_plain_text(text: str, expected: timedelta) -> None:
    assert periods.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("forever", "is not a retention period"),
        ("P", "is not a retention period"),
        ("PT", "is not a retention period"),
        ("P1DT", "is not a retention period"),
        ("P-30D", "is not a retention period"),
        ("30", "is not a retention period"),
        ("30 fortnights", "is not a retention period"),
        ("30 days please", "is not a retention period"),
        ("-3 days", "is not a retention period"),
        ("1000 years", "longer than 100 years"),
        # Past what a timedelta holds, and past Python's 4,300-digit limit for int():
        # refused as too long, never an OverflowError or ValueError.
        ("99999999999999999999 days", "longer than 100 years"),
        ("P99999999999D", "longer than 100 years"),
        ("PT99999999999999999999S", "longer than 100 years"),
        ("P" + "9" * 5000 + "D", "longer than 100 years"),
        ("9" * 5000 + " days", "longer than 100 years"),
    ],
)
def test_parse_refuses_what_is_not_a_period(text: str, message: str) -> None:
    with pytest.raises(periods.RetentionError, match=message) as refused:
        periods.parse(text)
    assert len(str(refused.value)) < 200, "the message quotes at most the start of the text"


def test_the_longest_period_is_accepted_and_a_second_more_is_not() -> None:
    assert periods.parse("P36500D") == periods.LONGEST
    with pytest.raises(periods.PeriodTooLong):
        periods.parse("P36500DT1S")


def test_leading_zeros_do_not_make_a_period_long() -> None:
    assert periods.parse("0000000000000001 days") == timedelta(days=1)
    assert periods.parse("P0000000000000030D") == timedelta(days=30)
    with pytest.raises(periods.PeriodTooLong):
        periods.parse("P0000000000000036501D")


@pytest.mark.parametrize(
    ("period", "words", "iso"),
    [
        (timedelta(0), "not retained", "P0D"),
        (timedelta(days=30), "30 days", "P30D"),
        (timedelta(days=1), "1 day", "P1D"),
        (timedelta(weeks=2), "2 weeks", "P14D"),
        (timedelta(days=365), "1 year", "P365D"),
        (timedelta(days=730), "2 years", "P730D"),
        (timedelta(hours=12), "12 hours", "PT12H"),
        (timedelta(minutes=90), "90 minutes", "PT1H30M"),
        (timedelta(days=1, hours=12), "36 hours", "P1DT12H"),
        (timedelta(days=1, seconds=5), "1 day 5 seconds", "P1DT5S"),
    ],
)
def test_describe_in_plain_english_and_round_trip_through_iso(
    period: timedelta, words: str, iso: str
) -> None:
    assert periods.describe(period) == words
    assert periods.to_iso(period) == iso
    assert periods.parse(periods.to_iso(period)) == period
