"""A refused message's payload as a page shows it to an engineer: its text when it is UTF-8 (with
control characters made visible), else its bytes in hex, cut to a length a page can hold, with
a note that says what was left out."""

from __future__ import annotations

from dataclasses import dataclass

SHOWN_CHARACTERS = 2000
SHOWN_BYTES_AS_HEX = 512
KEPT_AS_THEY_ARE = "\n\t"


@dataclass(frozen=True)
class ShownPayload:
    text: str
    is_hex: bool
    note: str


def shown(payload: bytes, full_size: int) -> ShownPayload:
    """The payload (the stored prefix of a message of `full_size` bytes) as it is shown."""
    notes = []
    if full_size > len(payload):
        notes.append(
            f"The message was {full_size:,} bytes; only the first {len(payload):,} are kept."
        )
    text = _utf8(payload, cut_short=full_size > len(payload))
    if text is None:
        cut = payload[:SHOWN_BYTES_AS_HEX]
        notes.insert(0, "Not UTF-8 text, so shown as hexadecimal bytes.")
        if len(cut) < len(payload):
            notes.append(f"Cut: the first {len(cut):,} of {len(payload):,} bytes kept are shown.")
        return ShownPayload(cut.hex(" "), True, " ".join(notes))
    if len(text) > SHOWN_CHARACTERS:
        notes.append(f"Cut: the first {SHOWN_CHARACTERS:,} of {len(text):,} characters are shown.")
        text = text[:SHOWN_CHARACTERS]
    return ShownPayload(visible(text), False, " ".join(notes))


def _utf8(payload: bytes, *, cut_short: bool) -> str | None:
    """The payload's text, or None when it is not UTF-8. A prefix kept of a longer message may
    end inside a character (UTF-8 takes up to 4 bytes), which is left off."""
    for left_off in range(4 if cut_short else 1):
        try:
            return payload[: len(payload) - left_off].decode()
        except UnicodeDecodeError:
            continue
    return None


def visible(text: str) -> str:
    """Control characters (other than new lines and tabs) written as \\xNN, so none is hidden
    or acts on the page."""
    return "".join(
        c if c.isprintable() or c in KEPT_AS_THEY_ARE else f"\\x{ord(c):02x}" for c in text
    )
