"""A refused payload as the console shows it: text with its control characters made visible,
bytes that are not UTF-8 in hex, and a note for whatever is left out."""

from __future__ import annotations

from web.payload_text import SHOWN_BYTES_AS_HEX, SHOWN_CHARACTERS, shown


def test_text_keeps_its_lines_and_shows_its_control_characters() -> None:
    payload = shown(b'{"a": 1,\n\t"b": "\x1b[2J\x00"}', 23)
    assert not payload.is_hex and payload.note == ""
    assert payload.text == '{"a": 1,\n\t"b": "\\x1b[2J\\x00"}'


def test_bytes_that_are_not_utf8_are_shown_in_hex_and_cut() -> None:
    payload = shown(b"\xff" * (SHOWN_BYTES_AS_HEX + 10), SHOWN_BYTES_AS_HEX + 10)
    assert payload.is_hex
    assert payload.text == " ".join(["ff"] * SHOWN_BYTES_AS_HEX)
    assert payload.note == (
        f"Not UTF-8 text, so shown as hexadecimal bytes. Cut: the first {SHOWN_BYTES_AS_HEX} of "
        f"{SHOWN_BYTES_AS_HEX + 10} bytes kept are shown."
    )


def test_a_kept_prefix_that_ends_inside_a_character_is_still_text() -> None:
    kept = ("é" * SHOWN_CHARACTERS).encode()[:-1]  # the last character cut in two
    payload = shown(kept, 9000)
    assert not payload.is_hex
    assert payload.text == "é" * (SHOWN_CHARACTERS - 1)
    assert payload.note == f"The message was 9,000 bytes; only the first {len(kept):,} are kept."


def test_a_whole_payload_that_is_not_utf8_is_not_mistaken_for_a_cut_one() -> None:
    assert shown(b"ok\xc3", 3).is_hex
