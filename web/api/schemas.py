"""API v1's shapes as marshmallow schemas: every response is dumped through one of these, and
the OpenAPI document is built from them, so the document cannot drift from what is served.

Query parameters are schemas too: `ReadingsQuery` loads and checks a request's arguments. The
device list's filters are not here: `web.device_filters.FILTERS` both reads and describes them.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from register.schemas import STATUSES
from web import open_readings


def _described(text: str, example: Any = None, **kwargs: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"description": text}
    if example is not None:
        metadata["example"] = example
    return {"metadata": metadata, **kwargs}


_MOMENT_ERRORS: dict[str, str | list[Any] | dict[Any, Any]] = {
    "invalid": "must be an RFC 3339 date and time, e.g. 2026-11-20T09:00:00Z",
    "invalid_awareness": "must give a UTC offset, e.g. 2026-11-20T09:00:00Z or +00:00",
}


def _nullable(field: type[fields.Field[Any]], text: str, **kwargs: Any) -> Any:
    return field(allow_none=True, **_described(text, **kwargs))


class Problem(Schema):
    """An error, as RFC 9457 problem details."""

    type = fields.String(**_described("Always about:blank: the status says what kind."))
    title = fields.String(**_described("The HTTP status's name, e.g. Bad Request."))
    status = fields.Integer(**_described("The HTTP status code."))
    detail = fields.String(**_described("What was wrong, in words, e.g. the bad parameter."))


def _iso_date(text: str) -> Any:
    """A date the register has already written as ISO 8601 (YYYY-MM-DD), or null."""
    return fields.String(allow_none=True, metadata={"description": text, "format": "date"})


# --- vocabulary --------------------------------------------------------------------------------


class Term(Schema):
    id = fields.String(**_described("The DTPR element id (kept as DTPR spells it)."))
    name = fields.String(**_described("DTPR's name for the term."))
    explanation = fields.String(**_described("One plain-English line for residents."))
    local = fields.Boolean(**_described("True for Lamplighter's own terms, not DTPR's."))


class Vocabulary(Schema):
    category = fields.String(**_described("The DTPR category, e.g. purpose."))
    terms = fields.List(fields.Nested(Term))


class VocabularyList(Schema):
    source = fields.String(**_described("Where the vocabulary comes from, and its licence."))
    vocabularies = fields.List(fields.Nested(Vocabulary))


# --- devices -----------------------------------------------------------------------------------

_STATUS = validate.OneOf(STATUSES)


class DeviceSummary(Schema):
    public_id = fields.String(**_described("The device's id in the register."))
    url = fields.String(**_described("The device's API address."))
    page = fields.String(**_described("The device's page for people."))
    name = fields.String()
    status = fields.String(validate=_STATUS)
    place = fields.String(**_described("Where it is, in words."))
    latitude = fields.Float(**_described("WGS84 degrees."))
    longitude = fields.Float(**_described("WGS84 degrees."))
    organisation = fields.String(**_described("The accountable organisation's slug."))
    organisation_name = fields.String()
    purposes = fields.List(fields.String(), **_described("DTPR purpose ids."))
    technology = fields.List(fields.String(), **_described("DTPR technology ids."))
    personal_data = fields.Boolean(**_described("Whether it collects personal data."))
    reporting_interval = _nullable(
        fields.String, "How often it says it reports, ISO 8601 (PT15M); null if it does not say."
    )
    not_reporting_since = _nullable(
        fields.DateTime,
        "Since when it has not reported (UTC): set once it has not been heard from for "
        "several of its intervals; null while it reports, or when it declares no interval.",
    )
    not_reporting = _nullable(fields.String, "The same in words; null while it reports.")
    distance_m = _nullable(fields.Integer, "Metres from the `near` point; null without `near`.")


class Point(Schema):
    latitude = fields.Float()
    longitude = fields.Float()


class DevicePage(Schema):
    total = fields.Integer(**_described("How many devices match, over every page."))
    page = fields.Integer()
    pages = fields.Integer()
    page_size = fields.Integer()
    filters = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        **_described("The filters applied, as query arguments (without the page)."),
    )
    near = fields.Nested(Point, allow_none=True, **_described("The `near` point, if any."))
    radius = _nullable(fields.Float, "The radius in metres, with `near`.")
    devices = fields.List(fields.Nested(DeviceSummary))


class Metric(Schema):
    key = fields.String(**_described("The metric's key in messages, e.g. no2."))
    label = fields.String()
    unit = fields.String(**_described("A SenML unit symbol; empty for yes/no metrics."))
    unit_text = fields.String(**_described("The unit in words."))
    value_kind = fields.String(validate=validate.OneOf(("number", "boolean")))
    personal = fields.Boolean(**_described("Personal data: its values are never published."))
    retention = fields.String(**_described("How long readings are kept, ISO 8601 (P30D)."))
    retention_text = fields.String(**_described("The same in words."))
    retention_days = fields.Float()
    open_data = fields.Boolean(**_described("Whether its readings are published as open data."))


class PersonalData(Schema):
    collected = fields.Boolean()
    metrics = fields.List(fields.String(), **_described("The keys of personal-data metrics."))
    legal_basis = _nullable(fields.String, "The UK GDPR Article 6 basis, when personal.")
    legal_basis_text = fields.String()
    dpia_url = _nullable(fields.String, "The data protection impact assessment.")


class OpenData(Schema):
    metrics = fields.List(fields.String(), **_described("The keys of open-data metrics."))


class ResponsibleOrganisation(Schema):
    slug = fields.String()
    name = fields.String()
    contact_email = fields.String()
    privacy_notice_url = _nullable(fields.String, "The organisation's privacy notice.")
    dpo_contact = _nullable(fields.String, "Its data protection officer.")


class Responsible(Schema):
    organisation = fields.Nested(ResponsibleOrganisation)
    contact_email = fields.String(**_described("Where to send questions about this device."))


class LatestReading(Schema):
    key = fields.String(**_described("The metric's key."))
    label = fields.String()
    at = fields.DateTime(**_described("When it was measured (UTC)."))
    value = fields.Float()
    value_text = fields.String(**_described("The value with its unit, in words for yes/no."))


class Live(Schema):
    last_seen_at = _nullable(fields.DateTime, "When the device was last heard from (UTC).")
    last_stored_at = _nullable(fields.DateTime, "Its newest stored reading's arrival (UTC).")
    reporting_interval = _nullable(
        fields.String, "How often it says it reports, ISO 8601 (PT15M); null if it does not say."
    )
    expected = _nullable(fields.String, "The same in words, e.g. every 15 minutes.")
    not_reporting_since = _nullable(
        fields.DateTime,
        "Since when it has not reported (UTC): set once it has not been heard from for "
        "several of its intervals; null while it reports, or when it declares no interval.",
    )
    not_reporting = _nullable(fields.String, "The same in words; null while it reports.")
    latest_readings = fields.List(
        fields.Nested(LatestReading),
        **_described(
            "The newest reading of each open-data metric in the last day; never personal data."
        ),
    )


class RetentionCheck(Schema):
    key = fields.String()
    label = fields.String()
    withdrawn = fields.Boolean(
        **_described("A metric no longer collected whose readings are still stored.")
    )
    oldest_stored_at = _nullable(
        fields.DateTime, "The oldest stored reading (UTC); null if none or not yet measured."
    )
    oldest_stored_days = _nullable(fields.Float, "Its age in days when the figures were computed.")
    declared_days = fields.Float(**_described("The declared retention in days."))
    declared_text = fields.String(**_described("The declared retention in words."))
    within_retention = _nullable(
        fields.Boolean,
        "Whether the oldest stored reading is within the declared retention (plus one interval "
        "of the retention job); null when the metric is not yet measured.",
    )


class RefusedByReason(Schema):
    reason = fields.String(**_described("The reason code quarantine stores.", "undeclared_metric"))
    text = fields.String(**_described("The reason in plain English."))
    last_7_days = fields.Integer(**_described("Refused today and in the 6 days before (UTC)."))
    last_30_days = fields.Integer(**_described("Refused today and in the 29 days before (UTC)."))


class Refused(Schema):
    last_7_days = fields.Integer(**_described("Messages (or parts) refused, last 7 UTC days."))
    last_30_days = fields.Integer(**_described("The same over the last 30 UTC days."))
    by_reason = fields.List(fields.Nested(RefusedByReason), **_described("Most refused first."))


class DeletedByRetention(Schema):
    days = fields.Integer(**_described("How many days back the retention job's records go."))
    readings = fields.Integer(
        **_described("The device's readings it deleted in that time, as their retention ended.")
    )


class Compliance(Schema):
    computed_at = _nullable(
        fields.DateTime,
        "When the compliance job computed these figures (UTC); null when it has not yet run.",
    )
    retention = fields.List(fields.Nested(RetentionCheck))
    all_within_retention = _nullable(
        fields.Boolean, "Whether every measured metric is within retention; null if not computed."
    )
    refused = fields.Nested(Refused)
    deleted_by_retention = fields.Nested(DeletedByRetention)


class DeviceLinks(Schema):
    page = fields.String(**_described("The device's page for people."))
    history = fields.String()
    readings = fields.String(**_described("Its open readings (open-data metrics only)."))
    entry = fields.String(
        **_described("Its register entry: the shape the writes take, with the same ETag.")
    )


class Device(Schema):
    public_id = fields.String()
    name = fields.String()
    status = fields.String(validate=_STATUS)
    status_text = fields.String()
    place = fields.String()
    location = fields.Nested(Point)
    description = fields.String()
    installed_on = _iso_date("When it was installed.")
    decommissioned_on = _iso_date("When it was taken out of service.")
    technology = fields.List(fields.Nested(Term))
    purposes = fields.List(fields.Nested(Term))
    data_types = fields.List(fields.Nested(Term))
    processing = fields.List(fields.Nested(Term))
    storage = fields.List(fields.Nested(Term))
    access = fields.List(fields.Nested(Term))
    metrics = fields.List(fields.Nested(Metric))
    personal_data = fields.Nested(PersonalData)
    open_data = fields.Nested(OpenData)
    responsible = fields.Nested(Responsible)
    live = fields.Nested(Live)
    compliance = fields.Nested(Compliance)
    links = fields.Nested(DeviceLinks)


class HistoryEvent(Schema):
    at = fields.DateTime(**_described("When the change was made (UTC)."))
    action = fields.String(validate=validate.OneOf(("create", "update", "decommission")))
    changes = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        **_described("Each changed field with its before and after values."),
    )
    note = fields.String(**_described("Why, in the engineer's words."))
    by = fields.String(**_described("The organisation that made the change (never a person)."))


class DeviceHistory(Schema):
    public_id = fields.String()
    events = fields.List(fields.Nested(HistoryEvent), **_described("Oldest first."))


# --- organisations -----------------------------------------------------------------------------


class PurposeCount(Schema):
    id = fields.String()
    name = fields.String()
    devices = fields.Integer()


class ByStatus(Schema):
    active = fields.Integer()
    planned = fields.Integer()
    suspended = fields.Integer()
    decommissioned = fields.Integer()


class OrganisationCompliance(Schema):
    computed_at = _nullable(
        fields.DateTime, "When the compliance job computed these figures (UTC); null if not yet."
    )
    devices_within_retention = _nullable(
        fields.Integer,
        "Its devices whose every metric's oldest stored reading is within retention.",
    )
    devices_measured = _nullable(fields.Integer, "Its devices when the figures were computed.")
    share_within_retention = _nullable(
        fields.Float, "The same as a share of its devices, 0 to 1; null without devices."
    )
    refused_last_7_days = _nullable(fields.Integer, "Refused from its devices, last 7 UTC days.")
    refused_last_30_days = _nullable(fields.Integer, "The same over the last 30 UTC days.")


class Transparency(Schema):
    devices = fields.Integer()
    by_status = fields.Nested(ByStatus)
    personal_data_devices = fields.Integer()
    not_reporting_devices = fields.Integer(
        **_described("Its active devices not heard from for several of their declared intervals.")
    )
    purposes = fields.List(fields.Nested(PurposeCount))
    compliance = fields.Nested(OrganisationCompliance)


class Organisation(Schema):
    slug = fields.String()
    url = fields.String(**_described("The organisation's API address."))
    page = fields.String(**_described("Its page for people."))
    devices_url = fields.String(**_described("Its devices, through the device list."))
    name = fields.String()
    kind = fields.String()
    contact_email = fields.String()
    privacy_notice_url = _nullable(fields.String, "Its privacy notice.")
    dpo_contact = _nullable(fields.String, "Its data protection officer.")
    website = _nullable(fields.String, "Its website.")
    transparency = fields.Nested(Transparency)


class OrganisationList(Schema):
    organisations = fields.List(fields.Nested(Organisation))


# --- open readings -----------------------------------------------------------------------------


class ReadingsQuery(Schema):
    class Meta:
        unknown = RAISE

    metric = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        **_described("The metric's key; it must be open data.", "no2"),
    )
    start = fields.AwareDateTime(
        error_messages=_MOMENT_ERRORS,
        **_described("From this time (RFC 3339 with a UTC offset); default: 24 hours before end."),
    )
    end = fields.AwareDateTime(
        error_messages=_MOMENT_ERRORS,
        **_described("Up to, not including, this time; default: now."),
    )
    bucket = fields.String(
        load_default="1h",
        validate=validate.OneOf(
            tuple(open_readings.BUCKET_WIDTHS), error="must be one of: {choices}"
        ),
        **_described(
            f"The time_bucket width; at most {open_readings.MAX_BUCKETS:,} buckets a request."
        ),
    )


class Bucket(Schema):
    time = fields.DateTime(**_described("The bucket's start (UTC)."))
    count = fields.Integer(**_described("Readings in the bucket."))
    mean = fields.Float()
    min = fields.Float()
    max = fields.Float()


class ReadingsMetric(Schema):
    key = fields.String()
    label = fields.String()
    unit = fields.String()


class Readings(Schema):
    public_id = fields.String()
    metric = fields.Nested(ReadingsMetric)
    bucket = fields.String(**_described("The bucket width, as asked."))
    start = fields.DateTime()
    end = fields.DateTime()
    licence = fields.String(**_described("The terms the data is published under."))
    buckets = fields.List(
        fields.Nested(Bucket), **_described("Oldest first; buckets without readings are left out.")
    )


# --- writes ------------------------------------------------------------------------------------
# A device entry as written and answered is `register.schemas.DeviceSchema`, the import's shape;
# the OpenAPI document names it DeviceEntry.


class BadField(Schema):
    place = _nullable(
        fields.String, "Where in a file: line 3, device 2 or feature 4; null for one entry."
    )
    field = fields.String(
        **_described(
            "The field, named as the import names it: metrics[2].unit (metric_unit on a CSV "
            "line); empty for the entry as a whole."
        )
    )
    message = fields.String(**_described("What is wrong with it, and what is allowed."))


class Invalid(Problem):
    """A refused entry: RFC 9457 problem details, with every bad field."""

    errors = fields.List(fields.Nested(BadField), **_described("Every problem found."))


class FieldChange(Schema):
    """One field of a device entry before and after a change, as its history records it."""

    before = fields.Raw(allow_none=True, **_described("The value before; null if it had none."))
    after = fields.Raw(allow_none=True, **_described("The value after; null if it has none."))


class ImportResult(Schema):
    dry_run = fields.Boolean(**_described("True when nothing was stored."))
    created = fields.List(fields.String(), **_described("Devices new to the register."))
    changed = fields.List(fields.String(), **_described("Devices whose entry changes."))
    changes = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Nested(FieldChange)),
        **_described(
            "For each device in `changed`, by its id: each changed field with its value before "
            "and after, named as its history names it (a metric's retention is "
            "metrics.no2.retention; a metric added or withdrawn is metrics.no2, with null on "
            "one side)."
        ),
    )
    unchanged = fields.List(fields.String(), **_described("Devices already as the file says."))
    left_alone = fields.List(
        fields.String(),
        **_described(
            "Other organisations' devices, already as the file says: left alone, never stored."
        ),
    )


class ImportQuery(Schema):
    class Meta:
        unknown = RAISE

    dry_run = fields.Boolean(
        load_default=True,
        **_described(
            "True (the default): check the file and say what would change, storing nothing. "
            "False: store every entry, or none when any is refused."
        ),
    )


class DecommissionQuery(Schema):
    class Meta:
        unknown = RAISE

    on = fields.Date(
        error_messages={"invalid": "must be a date, YYYY-MM-DD"},
        **_described(
            "The day it was taken out of service, not in the future; default: today.", "2026-11-02"
        ),
    )


class IssuedCredential(Schema):
    """A device's new MQTT credential: its password is in this answer only."""

    username = fields.String(**_described("The MQTT username: the device's public id."))
    password = fields.String(
        **_described(
            "The MQTT password, shown only this once: the register keeps only its hash "
            "(Mosquitto's $7$ PBKDF2-SHA512), so no one can show it again."
        )
    )
    replaced = fields.Boolean(
        **_described(
            "True when it replaced a working credential, which stops working within seconds."
        )
    )
    first = fields.Boolean(
        **_described(
            "True when it is the register's first device credential: from then on "
            "Lamplighter's broker refuses clients that do not log in."
        )
    )
    topics = fields.List(
        fields.String(),
        **_described(
            "The topics the device publishes to with it: native JSON, and SenML.",
            ["lamplighter/camden/camden-aq-0001/up", "lamplighter/camden/camden-aq-0001/senml"],
        ),
    )


class Credential(Schema):
    """Whether a device has a working MQTT credential; never its password or hash."""

    username = fields.String(**_described("The MQTT username: the device's public id."))
    active = fields.Boolean(**_described("True when the device has a working credential."))
    issued_at = _nullable(
        fields.DateTime, "When the working credential was issued (UTC); null when none works."
    )
    issued_by = _nullable(
        fields.String,
        "Who issued it: an engineer, an API token or the command line; null when none works.",
    )


# Every key of a response is always there (null where the schema allows it), so the document
# marks each one required, and a response that leaves one out breaks the schema.
RESPONSES = (
    Problem,
    Term,
    Vocabulary,
    VocabularyList,
    DeviceSummary,
    Point,
    DevicePage,
    Metric,
    PersonalData,
    OpenData,
    ResponsibleOrganisation,
    Responsible,
    Live,
    RetentionCheck,
    RefusedByReason,
    Refused,
    Compliance,
    DeviceLinks,
    Device,
    HistoryEvent,
    DeviceHistory,
    PurposeCount,
    ByStatus,
    OrganisationCompliance,
    Transparency,
    Organisation,
    OrganisationList,
    Bucket,
    ReadingsMetric,
    Readings,
    BadField,
    Invalid,
    FieldChange,
    ImportResult,
    IssuedCredential,
    Credential,
)
for _shape in RESPONSES:
    for _field in _shape._declared_fields.values():
        _field.required = True
