"""Fuzzing every parser: no exception escapes, and nothing is dropped without a reason.

Inputs range from random bytes to documents that are nearly right (the real field names with
random values), which is where parsers usually break.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import reasons
from ingest.checks import check_message
from ingest.formats import PARSERS
from ingest.formats.common import decode_json
from ingest.messages import Parsed, Rejected
from tests.ingest.samples import (
    CHIRPSTACK_TOPIC,
    DEVICES,
    LIMITS,
    NOW,
    NOW_US,
    TTN_TOPIC,
    cache,
    chirpstack_event,
    message,
    ttn_uplink,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = st.sampled_from(
    ["no2", "pm2_5", "occupied", "clip", "battery", "temperature", "humidity", "co2", ""]
)
UNITS = st.sampled_from(["ug/m3", "mg/m3", "V", "mV", "Cel", "%RH", "", "count", "x"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.sampled_from([10**400, -(10**400), 2**63, 2**64 + 1])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
TIMES = st.one_of(
    st.floats(min_value=0, max_value=NOW + 10**6),
    st.integers(min_value=-5, max_value=10**13),
    st.sampled_from(["2026-11-22T20:15:00Z", "2026-11-22T20:15:00", "2026-13-40T99:00:00Z", ""]),
    JSON,
)
TOPICS = {
    "native": st.sampled_from(
        [
            "lamplighter/camden/camden-aq-0001/up",
            "lamplighter/x/y/up",
            "lamplighter/camden/camden-lora-0001/up",
            "up",
            "a//b/up",
        ]
    ),
    "senml": st.sampled_from(
        [
            "lamplighter/camden/camden-aq-0001/senml",
            "lamplighter/islington/camden-aq-0004/senml",
            "senml",
        ]
    ),
    "ttn": st.sampled_from([TTN_TOPIC, "v3/a@b/devices/camden-lora-0001/up", "v3/up"]),
    "chirpstack": st.sampled_from([CHIRPSTACK_TOPIC, "application/1/device/x/event/up"]),
}

native_documents = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {
            "time": TIMES,
            "readings": st.dictionaries(
                KEYS,
                SCALARS
                | st.fixed_dictionaries({"value": SCALARS}, optional={"unit": UNITS | JSON}),
                max_size=5,
            ),
        },
        optional={"extra": JSON},
    ),
)
NUMBERS = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(10**20), 10**20)
    | st.sampled_from([10**400, 2**63, -(2**63) - 1])
)
senml_base_and_name = st.fixed_dictionaries(
    {},
    optional={
        "bn": st.sampled_from(["", "urn:dev:mac:0024:", "camden-aq-0001/", "bad name", "x/"]),
        "bt": st.floats(min_value=0, max_value=NOW + 10**6) | st.integers(-100, 10**10),
        "bu": UNITS,
        "bv": NUMBERS,
        "bs": NUMBERS,
        "bver": st.integers(0, 12),
        "n": KEYS,
        "u": UNITS,
        "t": st.floats(min_value=-(10**6), max_value=10**6),
        "ut": NUMBERS,
        "note": JSON,
    },
)
senml_value = st.one_of(
    st.fixed_dictionaries({"v": NUMBERS}),
    st.fixed_dictionaries({"vb": st.booleans()}),
    st.fixed_dictionaries({"vs": st.text(max_size=5)}),
    st.fixed_dictionaries({"vd": st.text(max_size=5)}),
    st.fixed_dictionaries({"s": NUMBERS}),
    st.just({}),
)
senml_records = st.builds(lambda base, value: {**base, **value}, senml_base_and_name, senml_value)
# Well-typed records reach the deepest code; a few are spoilt with one wrong-typed field or a
# must-understand field ("_" at the end), which rejects the whole pack.
spoilt_records = st.builds(
    lambda record, field, junk: {**record, field: junk},
    senml_records,
    st.sampled_from(["bn", "bt", "bu", "bv", "bver", "n", "u", "v", "vb", "vs", "t", "x_"]),
    JSON,
)
senml_record_choices = st.one_of(senml_records, senml_records, senml_records, spoilt_records, JSON)
senml_documents = st.one_of(JSON, st.lists(senml_record_choices, max_size=6))
ttn_documents = st.one_of(
    JSON,
    st.builds(
        lambda decoded, extra: {**ttn_uplink(decoded), **extra},
        st.dictionaries(KEYS, JSON, max_size=4) | JSON,
        st.dictionaries(
            st.sampled_from(["end_device_ids", "uplink_message", "received_at"]), JSON, max_size=2
        ),
    ),
)
chirpstack_documents = st.one_of(
    JSON,
    st.builds(
        lambda decoded, extra: {**chirpstack_event(decoded), **extra},
        st.dictionaries(KEYS, JSON, max_size=4) | JSON,
        st.dictionaries(st.sampled_from(["deviceInfo", "time", "object"]), JSON, max_size=2),
    ),
)
DOCUMENTS = {
    "native": native_documents,
    "senml": senml_documents,
    "ttn": ttn_documents,
    "chirpstack": chirpstack_documents,
}


def parse_or_reject(fmt: str, topic: str, document: Any) -> Parsed | Rejected:
    try:
        return PARSERS[fmt](topic, document)
    except Rejected as rejection:
        return rejection


def assert_everything_accounted_for(fmt: str, topic: str, payload: bytes) -> None:
    """check_message never fails, and every reading is stored, declared unretained, or refused
    with a known reason; a message that yields nothing always has a reason."""
    outcome = check_message(message(topic, payload, raw=True), fmt, cache(), LIMITS, NOW_US)
    assert all(reason in reasons.ALL for reason, _, _ in outcome.rejections)
    assert all(text for _, text, _ in outcome.rejections)
    assert reasons.INTERNAL_ERROR not in [r for r, _, _ in outcome.rejections]
    devices = {d.id: d for d in DEVICES}
    for when, device_id, metric_id, value in outcome.rows:
        assert math.isfinite(value)
        assert metric_id in {m.id for m in devices[device_id].metrics.values()}
        assert when <= NOW_US + LIMITS.future_skew_us
    if not outcome.rows and not outcome.not_retained:
        assert outcome.rejections, "a message that stores nothing must say why"
    try:
        parsed = PARSERS[fmt](topic, decode_json(payload))
    except Rejected:
        assert len(outcome.rejections) == 1 and not outcome.rows
        return
    if outcome.device_id is not None and outcome.rejected_readings:
        counted = len(outcome.rows) + outcome.not_retained + sum(outcome.rejected_readings.values())
        assert counted == len(parsed.readings) + len(parsed.problems)


def _fuzz(fmt: str, data: st.DataObject) -> None:
    topic = data.draw(TOPICS[fmt])
    document = data.draw(DOCUMENTS[fmt])
    result = parse_or_reject(fmt, topic, document)
    if isinstance(result, Rejected):
        assert result.reason in reasons.ALL and result.text
    assert_everything_accounted_for(fmt, topic, json.dumps(document).encode())


@FUZZ
@given(st.data())
def test_native_parser_never_raises_and_accounts_for_everything(data: st.DataObject) -> None:
    _fuzz("native", data)


@FUZZ
@given(st.data())
def test_senml_parser_never_raises_and_accounts_for_everything(data: st.DataObject) -> None:
    _fuzz("senml", data)


@FUZZ
@given(st.data())
def test_ttn_parser_never_raises_and_accounts_for_everything(data: st.DataObject) -> None:
    _fuzz("ttn", data)


@FUZZ
@given(st.data())
def test_chirpstack_parser_never_raises_and_accounts_for_everything(data: st.DataObject) -> None:
    _fuzz("chirpstack", data)


@FUZZ
@given(fmt=st.sampled_from(sorted(PARSERS)), payload=st.binary(max_size=300))
def test_any_bytes_are_refused_with_a_reason_or_read(fmt: str, payload: bytes) -> None:
    topic = {
        "native": "lamplighter/camden/camden-aq-0001/up",
        "senml": "lamplighter/camden/camden-aq-0001/senml",
        "ttn": TTN_TOPIC,
        "chirpstack": CHIRPSTACK_TOPIC,
    }[fmt]
    assert_everything_accounted_for(fmt, topic, payload)


@FUZZ
@given(text=st.text(max_size=200))
def test_any_text_is_refused_with_a_reason_or_read(text: str) -> None:
    assert_everything_accounted_for(
        "senml", "lamplighter/camden/camden-aq-0001/senml", text.encode("utf-8", "surrogatepass")
    )
