"""The four payload formats, read and held to the register without a broker or database.

Each reason code has a case here; tests/ingest/test_ingest.py repeats the important ones through
a real broker and database.
"""

from __future__ import annotations

import pytest

from ingest import reasons
from ingest.checks import check_message
from ingest.formats import PARSERS
from ingest.formats import native as native_format
from ingest.formats import senml as senml_format
from ingest.messages import Rejected
from ingest.settings import DEFAULT_TOPICS, PAYLOAD_FORMATS
from ingest.units import conversion
from tests.ingest.samples import (
    CHIRPSTACK_TOPIC,
    DAY_US,
    LIMITS,
    NOW,
    NOW_US,
    TTN_TOPIC,
    cache,
    check,
    chirpstack_event,
    message,
    native,
    reasons_of,
    senml,
    ttn_uplink,
)

# --- native -----------------------------------------------------------------------------------


def test_native_message_stores_each_declared_reading_at_its_time() -> None:
    outcome = native({"no2": 23.4, "pm2_5": {"value": 8, "unit": "ug/m3"}, "occupied": True})
    assert outcome.rejections == []
    assert sorted(outcome.rows) == [
        (NOW_US, 1, 11, 23.4),
        (NOW_US, 1, 12, 8.0),
        (NOW_US, 1, 13, 1.0),
    ]
    assert outcome.device_id == 1


@pytest.mark.parametrize(
    ("given", "micros"),
    [
        ("2026-11-22T20:15:00Z", 1_795_378_500_000_000),
        ("2026-11-22T21:15:00.25+01:00", 1_795_378_500_250_000),
        ("2026-11-22T20:15:00.123456789Z", 1_795_378_500_123_456),
        (1_795_378_500, 1_795_378_500_000_000),
        (1_795_378_500.5, 1_795_378_500_500_000),
    ],
)
def test_native_times_are_rfc3339_or_epoch_seconds(given: object, micros: int) -> None:
    parsed = native_format.parse(
        "lamplighter/camden/camden-aq-0001/up", {"time": given, "readings": {"no2": 1}}
    )
    assert parsed.readings[0].time_us == micros


@pytest.mark.parametrize(
    ("time", "words"),
    [
        ("2026-11-22T20:15:00", "no time zone"),
        ("yesterday", "not RFC 3339"),
        (None, "must be RFC 3339 text or seconds"),
        (True, "not true"),
        (-5, "is not a time"),
        (1e300, "is not a time"),
    ],
)
def test_a_native_time_that_cannot_be_placed_is_refused(time: object, words: str) -> None:
    outcome = native({"no2": 1}, time=time)
    assert reasons_of(outcome) == [reasons.INVALID_TIME]
    assert words in outcome.rejections[0][1]
    assert outcome.rows == []


def test_a_native_message_without_a_time_is_refused() -> None:
    outcome = check("native", "lamplighter/camden/camden-aq-0001/up", {"readings": {"no2": 1}})
    assert outcome.rejections == [(reasons.INVALID_TIME, "'time' is required", None)]


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ([1, 2], "the message must be an object"),
        ({"time": NOW, "readings": [1]}, "'readings' must be an object"),
        ({"time": NOW, "readings": {}, "battery": 3}, "unknown field(s) 'battery'"),
    ],
)
def test_native_messages_of_the_wrong_shape_are_refused(payload: object, words: str) -> None:
    outcome = check("native", "lamplighter/camden/camden-aq-0001/up", payload)
    assert reasons_of(outcome) == [reasons.INVALID_STRUCTURE]
    assert words in outcome.rejections[0][1]


def test_a_topic_without_organisation_and_device_is_refused() -> None:
    with pytest.raises(Rejected) as caught:
        native_format.parse("up", {"time": NOW, "readings": {}})
    assert caught.value.reason == reasons.INVALID_STRUCTURE


# --- SenML ------------------------------------------------------------------------------------


def test_senml_base_fields_carry_forward_until_changed() -> None:
    pack = [
        {
            "bn": "urn:dev:mac:0024befffe804ff1:",
            "bt": NOW,
            "bu": "ug/m3",
            "bver": 10,
            "n": "no2",
            "v": 20.5,
        },
        {"n": "pm2_5", "v": 7, "t": -60},
        {"bv": 10, "n": "no2", "v": 1.5, "t": -120},
        {"bu": "V", "bv": 0, "n": "battery", "v": 3.6},
        {"n": "occupied", "vb": False, "u": ""},
    ]
    outcome = senml(pack)
    assert outcome.rejections == []
    assert sorted(outcome.rows) == sorted(
        [
            (NOW_US, 1, 11, 20.5),
            (NOW_US - 60_000_000, 1, 12, 7.0),
            (NOW_US - 120_000_000, 1, 11, 11.5),
            (NOW_US, 1, 15, 3.6),
            (NOW_US, 1, 13, 0.0),
        ]
    )


def test_senml_relative_times_count_from_now() -> None:
    parsed = senml_format.parse(
        "lamplighter/camden/camden-aq-0001/senml", [{"n": "no2", "v": 1, "t": -30}], now=NOW
    )
    assert parsed.readings[0].time_us == NOW_US - 30_000_000
    parsed = senml_format.parse(
        "lamplighter/camden/camden-aq-0001/senml", [{"n": "no2", "v": 1}], now=NOW
    )
    assert parsed.readings[0].time_us == NOW_US


def test_senml_name_without_base_is_the_metric_key() -> None:
    parsed = senml_format.parse("a/b/c/senml", [{"bn": "camden-aq-0001/", "n": "no2", "v": 2}])
    assert [r.key for r in parsed.readings] == ["no2"]


@pytest.mark.parametrize(
    ("record", "reason", "words"),
    [
        (
            {"n": "no2", "vs": "high", "bt": NOW},
            reasons.INVALID_VALUE,
            "must be a number, not text",
        ),
        ({"n": "no2", "vd": "AQID", "bt": NOW}, reasons.INVALID_VALUE, "data values (vd)"),
        ({"n": "no2", "s": 100, "bt": NOW}, reasons.INVALID_VALUE, "sums (s)"),
        ({"n": "no2", "bt": NOW}, reasons.INVALID_VALUE, "has no value"),
        ({"n": "no2/", "v": 1, "bt": NOW}, reasons.INVALID_STRUCTURE, "without a metric key"),
    ],
)
def test_senml_records_that_are_not_readings_are_quarantined(
    record: dict[str, object], reason: str, words: str
) -> None:
    outcome = senml([{"n": "pm2_5", "v": 4, "bt": NOW}, record])
    assert [row[2] for row in outcome.rows] == [12], "the good record is still stored"
    assert reasons_of(outcome) == [reason]
    assert words in outcome.rejections[0][1]


@pytest.mark.parametrize(
    ("pack", "reason", "words"),
    [
        ({"n": "no2", "v": 1}, reasons.INVALID_STRUCTURE, "non-empty list of records"),
        ([], reasons.INVALID_STRUCTURE, "non-empty list"),
        (["no2"], reasons.INVALID_STRUCTURE, "record 0 must be an object"),
        ([{"n": "no2", "v": "1"}], reasons.INVALID_STRUCTURE, "'v' must be a finite number"),
        ([{"n": 5, "v": 1}], reasons.INVALID_STRUCTURE, "'n' must be text"),
        ([{"n": "no2", "v": 1, "vb": True}], reasons.INVALID_STRUCTURE, "more than one value"),
        ([{"n": "-no2", "v": 1}], reasons.INVALID_STRUCTURE, "not a valid SenML name"),
        ([{"n": "no 2", "v": 1}], reasons.INVALID_STRUCTURE, "not a valid SenML name"),
        ([{"bver": 11, "n": "no2", "v": 1}], reasons.UNSUPPORTED_SENML, "version 11"),
        ([{"n": "no2", "v": 1, "exp_": 3}], reasons.UNSUPPORTED_SENML, "must-understand"),
    ],
)
def test_invalid_senml_packs_are_refused_whole(pack: object, reason: str, words: str) -> None:
    outcome = senml(pack)
    assert outcome.rows == []
    assert reasons_of(outcome) == [reason]
    assert words in outcome.rejections[0][1]


def test_senml_ignores_unknown_optional_fields() -> None:
    outcome = senml([{"n": "no2", "v": 1, "bt": NOW, "colour": "blue"}])
    assert outcome.rejections == [] and len(outcome.rows) == 1


# --- The Things Stack v3 ------------------------------------------------------------------------


def test_ttn_uplink_stores_decoded_payload_at_network_receive_time() -> None:
    outcome = check("ttn", TTN_TOPIC, ttn_uplink({"temperature": 11.5, "humidity": 80}))
    assert outcome.rejections == []
    assert sorted(outcome.rows) == [
        (NOW_US - 1_000_000, 5, 21, 11.5),
        (NOW_US - 1_000_000, 5, 22, 80.0),
    ]


def test_ttn_device_found_by_dev_eui_when_it_has_no_ttn_id_registered() -> None:
    uplink = ttn_uplink({"temperature": 11.5})
    uplink["end_device_ids"].update(device_id="lora-2", dev_eui="70b3d57ed0000002")
    outcome = check("ttn", "v3/other-app@ttn/devices/lora-2/up", uplink)
    assert outcome.rejections == [] and outcome.device_id == 6


def test_a_dev_eui_cannot_stand_in_for_a_device_registered_under_another_ttn_id() -> None:
    uplink = ttn_uplink({"temperature": 11.5})
    outcome = check("ttn", "v3/intruder@ttn/devices/camden-lora-0001/up", uplink)
    assert reasons_of(outcome) == [reasons.TOPIC_MISMATCH]
    assert "registered with 'camden-sensors@ttn/camden-lora-0001'" in outcome.rejections[0][1]
    assert outcome.rows == []


@pytest.mark.parametrize(
    ("topic", "uplink", "reason", "words"),
    [
        (
            TTN_TOPIC,
            ttn_uplink({"temperature": 1}, uplink_message=None),
            reasons.INVALID_STRUCTURE,
            "not an uplink",
        ),
        (
            TTN_TOPIC,
            ttn_uplink({}, uplink_message={"f_port": 2, "received_at": "x"}),
            reasons.INVALID_STRUCTURE,
            "payload formatter",
        ),
        (
            TTN_TOPIC,
            ttn_uplink({"temperature": 1}, end_device_ids={}),
            reasons.INVALID_STRUCTURE,
            "device_id' must be non-empty text",
        ),
        (
            "v3/camden-sensors@ttn/devices/somebody-else/up",
            ttn_uplink({"temperature": 1}),
            reasons.TOPIC_MISMATCH,
            "somebody-else",
        ),
        (
            "v3/x@ttn/devices/nobody/up",
            ttn_uplink(
                {"temperature": 1},
                end_device_ids={"device_id": "nobody", "dev_eui": "0000000000000001"},
            ),
            reasons.UNKNOWN_DEVICE,
            "ttn_id 'x@ttn/nobody' or dev_eui '0000000000000001'",
        ),
    ],
)
def test_ttn_uplinks_that_cannot_be_used_are_refused(
    topic: str, uplink: object, reason: str, words: str
) -> None:
    outcome = check("ttn", topic, uplink)
    assert reasons_of(outcome) == [reason]
    assert words in outcome.rejections[0][1]


# --- ChirpStack v4 ------------------------------------------------------------------------------


def test_chirpstack_event_stores_object_at_its_time_with_nanoseconds_trimmed() -> None:
    outcome = check("chirpstack", CHIRPSTACK_TOPIC, chirpstack_event({"temperature": 9.25}))
    assert outcome.rejections == []
    assert outcome.rows == [(NOW_US - 2_000_000, 5, 21, 9.25)]


def test_chirpstack_event_without_time_is_stamped_on_arrival() -> None:
    outcome = check("chirpstack", CHIRPSTACK_TOPIC, chirpstack_event({"humidity": 70}, time=None))
    assert outcome.rows == [(NOW_US, 5, 22, 70.0)]


@pytest.mark.parametrize(
    ("topic", "event", "reason"),
    [
        (
            CHIRPSTACK_TOPIC,
            chirpstack_event({"temperature": 1}, object=None),
            reasons.INVALID_STRUCTURE,
        ),
        (
            CHIRPSTACK_TOPIC,
            {k: v for k, v in chirpstack_event({}).items() if k != "object"},
            reasons.INVALID_STRUCTURE,
        ),
        (
            CHIRPSTACK_TOPIC,
            chirpstack_event({"temperature": 1}, deviceInfo={"devEui": 7}),
            reasons.INVALID_STRUCTURE,
        ),
        (
            "application/1/device/0000000000000009/event/up",
            chirpstack_event({"temperature": 1}),
            reasons.TOPIC_MISMATCH,
        ),
        ("event/up", chirpstack_event({"temperature": 1}), reasons.INVALID_STRUCTURE),
    ],
)
def test_chirpstack_events_that_cannot_be_used_are_refused(
    topic: str, event: object, reason: str
) -> None:
    assert reasons_of(check("chirpstack", topic, event)) == [reason]


# --- the checks against the register, one reason code each ------------------------------------


def test_a_partly_good_message_stores_the_good_and_quarantines_each_kind_of_bad() -> None:
    outcome = native(
        {
            "no2": 20,
            "pm2_5": {"value": 3, "unit": "Cel"},
            "co2": 410,
            "ch4": 2,
            "battery": "low",
            "occupied": 1,
        }
    )
    assert sorted(outcome.rows) == [(NOW_US, 1, 11, 20.0), (NOW_US, 1, 13, 1.0)]
    assert reasons_of(outcome) == [
        reasons.INVALID_VALUE,
        reasons.UNDECLARED_METRIC,
        reasons.UNIT_MISMATCH,
    ]
    texts = {reason: text for reason, text, _ in outcome.rejections}
    assert (
        texts[reasons.UNDECLARED_METRIC] == "camden-aq-0001: co2, ch4: not declared for this device"
    )
    assert "'Cel' is not 'ug/m3'" in texts[reasons.UNIT_MISMATCH]
    assert all(device_id == 1 for _, _, device_id in outcome.rejections)
    assert outcome.rejected_readings == {
        reasons.UNDECLARED_METRIC: 2,
        reasons.UNIT_MISMATCH: 1,
        reasons.INVALID_VALUE: 1,
    }


@pytest.mark.parametrize(
    ("device", "reason"),
    [
        ("camden-aq-9999", reasons.UNKNOWN_DEVICE),
        ("camden-aq-0002", reasons.DEVICE_NOT_ACTIVE),
        ("camden-aq-0003", reasons.DEVICE_NOT_ACTIVE),
        ("camden-aq-0004", reasons.DEVICE_DECOMMISSIONED),
    ],
)
def test_readings_from_unknown_or_inactive_devices_are_never_stored(
    device: str, reason: str
) -> None:
    outcome = native({"no2": 1}, device=device)
    assert outcome.rows == []
    assert reasons_of(outcome) == [reason]


def test_a_topic_naming_another_organisation_is_refused() -> None:
    outcome = native({"no2": 1}, organisation="islington")
    assert reasons_of(outcome) == [reasons.TOPIC_MISMATCH]
    assert "belongs to 'camden'" in outcome.rejections[0][1]


@pytest.mark.parametrize(
    ("unit", "stored"),
    [("mg/m3", 23.0), ("ug/m3", 0.023)],
)
def test_a_unit_with_an_exact_conversion_is_converted_to_the_declared_unit(
    unit: str, stored: float
) -> None:
    value = 0.023 if unit == "mg/m3" else stored
    outcome = native({"no2": {"value": value, "unit": unit}})
    assert outcome.rows == [(NOW_US, 1, 11, pytest.approx(23.0 if unit == "mg/m3" else 0.023))]


def test_millivolts_become_volts() -> None:
    assert native({"battery": {"value": 3600, "unit": "mV"}}).rows == [(NOW_US, 1, 15, 3.6)]


@pytest.mark.parametrize("unit", ["Cel", "dBA", "ppm", "", "kg/m3x"])
def test_a_unit_without_an_exact_conversion_is_quarantined(unit: str) -> None:
    outcome = native({"no2": {"value": 5, "unit": unit}})
    assert outcome.rows == []
    assert reasons_of(outcome) == [reasons.UNIT_MISMATCH]


def test_a_yes_no_metric_takes_no_unit() -> None:
    assert reasons_of(native({"occupied": {"value": True, "unit": "count"}})) == [
        reasons.UNIT_MISMATCH
    ]


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("no2", None, "not null"),
        ("no2", "12", "not text"),
        ("no2", [1], "not a list"),
        ("no2", True, "is a number, not true/false"),
        ("no2", 10**400, "not a finite number"),
        ("occupied", 2, "yes/no"),
        ("occupied", 0.5, "yes/no"),
    ],
)
def test_values_that_are_not_finite_numbers_of_the_declared_kind_are_quarantined(
    key: str, value: object, words: str
) -> None:
    outcome = native({key: value})
    assert reasons_of(outcome) == [reasons.INVALID_VALUE]
    assert words in outcome.rejections[0][1]


def test_json_nan_and_infinity_are_not_json() -> None:
    payload = b'{"time": 1795378500, "readings": {"no2": NaN}}'
    outcome = check("native", "lamplighter/camden/camden-aq-0001/up", payload, raw=True)
    assert reasons_of(outcome) == [reasons.INVALID_JSON]


def test_booleans_become_one_and_zero() -> None:
    assert native({"occupied": False}).rows == [(NOW_US, 1, 13, 0.0)]


def test_readings_too_far_in_the_future_are_quarantined_but_small_skew_is_allowed() -> None:
    skew = LIMITS.future_skew_us / 1_000_000
    assert native({"no2": 1}, time=NOW + skew - 1).rows != []
    outcome = native({"no2": 1}, time=NOW + skew + 60)
    assert reasons_of(outcome) == [reasons.FUTURE_TIME]


def test_readings_older_than_their_metrics_retention_are_quarantined() -> None:
    # no2 is kept 30 days, pm2_5 365 days.
    outcome = native({"no2": 1, "pm2_5": 2}, time=NOW - 31 * DAY_US / 1_000_000)
    assert [row[2] for row in outcome.rows] == [12]
    assert reasons_of(outcome) == [reasons.PAST_RETENTION]
    assert "kept for 30 days" in outcome.rejections[0][1]


def test_a_not_retained_metric_is_used_but_never_stored_and_is_no_error() -> None:
    outcome = native({"clip": True, "no2": 4})
    assert [row[2] for row in outcome.rows] == [11]
    assert outcome.rejections == [] and outcome.not_retained == 1


def test_a_message_with_no_readings_is_quarantined() -> None:
    assert reasons_of(native({})) == [reasons.NO_READINGS]


def test_an_oversized_payload_is_refused_before_it_is_read() -> None:
    payload = b"{" + b" " * LIMITS.max_payload_bytes + b"}"
    outcome = check("native", "lamplighter/camden/camden-aq-0001/up", payload, raw=True)
    assert reasons_of(outcome) == [reasons.PAYLOAD_TOO_LARGE]
    assert f"limit is {LIMITS.max_payload_bytes}" in outcome.rejections[0][1]


@pytest.mark.parametrize("payload", [b"", b"not json", b"\xff\xfe", b'{"a": 1', b"[1,]"])
def test_payloads_that_are_not_json_are_refused(payload: bytes) -> None:
    outcome = check("native", "lamplighter/camden/camden-aq-0001/up", payload, raw=True)
    assert reasons_of(outcome) == [reasons.INVALID_JSON]


def test_integers_beyond_64_bits_are_json_and_judged_as_values() -> None:
    payload = b'{"time": 1795378500, "readings": {"no2": 123456789012345678901234567890}}'
    outcome = check("native", "lamplighter/camden/camden-aq-0001/up", payload, raw=True)
    assert outcome.rejections == [] and outcome.rows[0][3] == pytest.approx(1.2345678901e29)


def test_a_bug_in_a_parser_costs_one_message_not_the_ingester(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(topic: str, document: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setitem(__import__("ingest.formats").formats.PARSERS, "native", broken)
    outcome = native({"no2": 1})
    assert reasons_of(outcome) == [reasons.INTERNAL_ERROR]


def test_every_reason_code_has_a_description() -> None:
    assert all(reasons.describe(code) for code in reasons.ALL)
    assert len(set(reasons.ALL)) == len(reasons.ALL)


# --- odd input that once slipped through ------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-W47-7T20:15:00Z", "20261122T201500Z", "2026-11-22"])
def test_iso_8601_forms_that_are_not_rfc_3339_are_refused(text: str) -> None:
    assert reasons_of(native({"no2": 1}, time=text)) == [reasons.INVALID_TIME]


def test_rfc_3339_allows_lower_case_t_and_z_and_a_space() -> None:
    for text in ("2026-11-22t20:15:00z", "2026-11-22 20:15:00Z"):
        parsed = native_format.parse("l/camden/camden-aq-0001/up", {"time": text, "readings": {}})
        assert parsed.readings == [] and parsed.device.organisation == "camden"


def test_whole_numbers_beyond_64_bits_in_senml_are_refused_not_a_crash() -> None:
    outcome = senml([{"bt": 10**400, "n": "no2", "v": 1, "t": 0.5}])
    assert reasons_of(outcome) == [reasons.INVALID_STRUCTURE]
    assert reasons_of(native({"no2": 1}, time=10**400)) == [reasons.INVALID_TIME]


def test_a_senml_sum_beside_a_value_stores_the_value_and_says_the_sum_was_not() -> None:
    outcome = senml([{"n": "no2", "v": 3, "s": 300, "bt": NOW}])
    assert [row[3] for row in outcome.rows] == [3.0]
    assert reasons_of(outcome) == [reasons.INVALID_VALUE]
    assert "sums (s) are not stored" in outcome.rejections[0][1]


def test_a_senml_name_with_a_trailing_newline_is_not_a_name() -> None:
    assert reasons_of(senml([{"n": "no2\n", "v": 1, "bt": NOW}])) == [reasons.INVALID_STRUCTURE]


def test_senml_relative_times_count_from_arrival_not_from_parsing() -> None:
    outcome = check_message(
        message("lamplighter/camden/camden-aq-0001/senml", [{"n": "no2", "v": 1, "t": -10}],
                received_us=NOW_US - 120_000_000),
        "senml", cache(), LIMITS, NOW_US,
    )  # fmt: skip
    assert outcome.rows == [(NOW_US - 130_000_000, 1, 11, 1.0)]


def test_a_refused_known_device_still_counts_as_heard_from() -> None:
    outcome = native({"no2": 1}, device="camden-aq-0004")
    assert reasons_of(outcome) == [reasons.DEVICE_DECOMMISSIONED]
    assert outcome.device_id == 4


def test_units_devices_make_up_are_not_remembered() -> None:
    before = conversion.cache_info().currsize
    for n in range(50):
        native({"no2": {"value": 1, "unit": f"made-up-{n}"}})
    assert conversion.cache_info().currsize == before


def test_every_payload_format_has_a_parser_a_setting_and_a_default_topic() -> None:
    assert list(PARSERS) == list(PAYLOAD_FORMATS) == list(DEFAULT_TOPICS)
