"""The payload formats a source can carry, each a `parse(topic, document, now)` function.

A parser takes the topic, the decoded JSON and the time of arrival (seconds since 1970, for
formats with relative times). It returns a `Parsed` (the device reference and the raw
readings) or raises `Rejected` with a reason code. Nothing else may escape; the fuzz tests
hold them to that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.formats import chirpstack, native, senml, ttn
from ingest.messages import Parsed

Parser = Callable[[str, Any, float], Parsed]

PARSERS: dict[str, Parser] = {
    "native": native.parse,
    "senml": senml.parse,
    "ttn": ttn.parse,
    "chirpstack": chirpstack.parse,
}
