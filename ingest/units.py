"""Unit conversions the ingester may make: only the exact ones the SenML registries define.

RFC 8798 gives each secondary unit a primary unit, a scale and an offset (value in the primary
unit = value * scale + offset). Two units with the same primary unit therefore convert exactly:
`mV` to `V`, `Wh` to `kWh`, `ug/m3` to `mg/m3`. Anything else (`Cel` to `K`, `dBA` to `dB`) is a
mismatch, and the reading is quarantined rather than guessed at.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from register import vocab


class Conversion(NamedTuple):
    """An exact conversion: value in the declared unit = value sent * scale + offset."""

    scale: float
    offset: float


@cache
def conversion(sent: str, declared: str) -> Conversion | None:
    """The conversion taking a value in `sent` to `declared`, or None when there is none."""
    if sent == declared:
        return Conversion(1.0, 0.0)
    source, target = _to_primary(sent), _to_primary(declared)
    if source is None or target is None or source[0] != target[0]:
        return None
    (_, scale_in, offset_in), (_, scale_out, offset_out) = source, target
    # Rounded to 15 significant digits: the registry's factors are decimal, and 1e-9 / 1e-6
    # should be 0.001, not 0.0010000000000000002.
    scale = float(f"{scale_in / scale_out:.15g}")
    offset = float(f"{(offset_in - offset_out) / scale_out:.15g}")
    return Conversion(scale, offset)


def _to_primary(symbol: str) -> tuple[str, float, float] | None:
    unit = vocab.units().get(symbol)
    if unit is None:
        return None
    if unit.base is None:
        return (unit.symbol, 1.0, 0.0) if unit.kind == "primary" else None
    return (unit.base, unit.scale or 1.0, unit.offset or 0.0)
