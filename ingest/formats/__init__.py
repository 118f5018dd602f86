"""The payload formats a source can carry, each a `parse(topic, document)` function.

Every parser returns a `Parsed` (the device reference and the raw readings) or raises
`Rejected` with a reason code. Nothing else may escape; the fuzz tests hold them to that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.formats import chirpstack, native, senml, ttn
from ingest.messages import Parsed

Parser = Callable[[str, Any], Parsed]

PARSERS: dict[str, Parser] = {
    "native": native.parse,
    "senml": senml.parse,
    "ttn": ttn.parse,
    "chirpstack": chirpstack.parse,
}
