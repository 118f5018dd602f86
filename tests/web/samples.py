"""Register entries the web tests share."""

from __future__ import annotations

from register.queries import Conn
from tests.register.factories import add_device

CAMERA_METRICS = [
    {"key": "people_count", "label": "People passing", "unit": "count", "retention": "P30D",
     "open_data": True},
    {"key": "incident_clip", "label": "Incident video clip saved", "unit": "",
     "value_kind": "boolean", "personal": True, "retention": "P31D"},
]  # fmt: skip


def add_camera(conn: Conn) -> int:
    """A Camden safety camera: one open count, and one personal-data metric; its id."""
    return add_device(
        conn, "camden-cam-0001", name="Safety camera", technology=["video_camera"],
        purposes=["safety_security"], data_types=["pixel_based_image", "personal"],
        legal_basis="public_task", dpia_url="https://www.camden.gov.uk/dpia/cameras",
        metrics=CAMERA_METRICS,
    )  # fmt: skip
