"""A device's QR code (SVG) and its printable DTPR-style sign, for the lamp post itself.

The QR code links to the device's page at the site's public address (`web.public_url`, or the
address the request came to), so a resident can scan the sign and read the whole card.
"""

from __future__ import annotations

import io

import segno


def qr_svg(url: str, label: str) -> bytes:
    """An SVG QR code for `url`, titled for screen readers, scaled for print."""
    code = segno.make(url, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=4, border=2, title=label, xmldecl=False, svgns=True)
    return out.getvalue()
