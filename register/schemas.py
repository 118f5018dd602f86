"""marshmallow schemas for organisations and devices (with their declared metrics nested).

The API, the console and the import all load input through these schemas, and the exports dump
through them, so every path accepts and produces the same shape. Unknown fields are refused, and
every message says what is allowed. `register.validation` turns marshmallow's nested errors into
one line per field, such as `metrics[2].unit: not a SenML unit; close matches: Cel`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from register import periods, vocab

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SLUG_HELP = "use lower-case letters, digits and single hyphens, e.g. camden-lp-0042"
ORGANISATION_SLUG_HELP = "use lower-case letters, digits and single hyphens, e.g. camden"
METRIC_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEV_EUI = re.compile(r"^[0-9A-F]{16}$")

STATUSES = ("planned", "active", "suspended", "decommissioned")
ORGANISATION_KINDS = (
    "borough",
    "regional_authority",
    "transport_authority",
    "public_body",
    "vendor",
    "university",
    "business",
    "community",
    "other",
)
# UK GDPR Article 6(1)(a) to (f).
LEGAL_BASES = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
)
VALUE_KINDS = ("number", "boolean")
INTERVAL_HELP = (
    "use an ISO 8601 duration such as PT15M, PT1H or P1D, or text such as '15 minutes'; "
    "leave it empty if the device does not say"
)
LONGEST_INTERVAL = timedelta(days=365)
TOO_LONG_INTERVAL = "must be 1 year at most; leave it empty if it reports less often"


def described(text: str, example: Any = None) -> dict[str, Any]:
    """A field's `metadata`: what it means (and an example), for the API's OpenAPI document."""
    metadata: dict[str, Any] = {"description": text}
    if example is not None:
        metadata["example"] = example
    return {"metadata": metadata}


def _slug(what: str, help_text: str = SLUG_HELP) -> validate.Validator:
    return validate.And(
        validate.Length(max=64, error=f"{what} is too long (64 characters at most)"),
        validate.Regexp(SLUG, error=f"not a valid {what}; {help_text}"),
    )


def _one_of(choices: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(choices, error="must be one of: {choices}")


class Text(fields.String):
    """A string with surrounding white space removed; blank counts as missing when required."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text and self.required:
            raise ValidationError("must not be blank")
        return text


class BlankIsNone:
    """Mixin for optional fields: a blank string (an empty CSV cell) means "not given"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        kwargs.setdefault("load_default", None)
        super().__init__(*args, **kwargs)

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
        return super().deserialize(value, attr, data, **kwargs)  # type: ignore[misc]


class OptionalText(BlankIsNone, fields.String):
    pass


class OptionalUrl(BlankIsNone, fields.Url):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(schemes={"http", "https"}, **kwargs)


class OptionalEmail(BlankIsNone, fields.Email):
    pass


class OptionalDate(BlankIsNone, fields.Date):
    pass


class Retention(fields.Field[timedelta]):
    """A retention period: ISO 8601 (`P30D`) or text (`30 days`, `not retained`) in, ISO out."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> timedelta:
        if isinstance(value, timedelta):
            return value
        if not isinstance(value, str | int):
            raise ValidationError(f"must be text; {periods.HELP}")
        try:
            return periods.parse(str(value))
        except periods.RetentionError as error:
            raise ValidationError(str(error)) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else periods.to_iso(value)


class ReportingInterval(BlankIsNone, Retention):
    """How often a device reports: optional, a period longer than zero, ISO 8601 out."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> timedelta:
        if isinstance(value, timedelta):
            period = value
        elif not isinstance(value, str | int):
            raise ValidationError(f"must be text; {INTERVAL_HELP}")
        else:
            try:
                period = periods.parse(str(value))
            except periods.PeriodTooLong:
                raise ValidationError(TOO_LONG_INTERVAL) from None
            except periods.RetentionError:
                raise ValidationError(
                    f"{str(value)[:40]!r} is not a reporting interval; {INTERVAL_HELP}"
                ) from None
        if period <= timedelta(0):
            raise ValidationError(f"must be longer than zero; {INTERVAL_HELP}")
        if period > LONGEST_INTERVAL:
            raise ValidationError(TOO_LONG_INTERVAL)
        return period


class Unit(fields.String):
    """A SenML unit symbol (RFC 8428 and its registry), or one of Lamplighter's local units."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        symbol = super()._deserialize(value, attr, data, **kwargs).strip()
        if symbol == "" and isinstance(data, dict) and data.get("value_kind") == "boolean":
            return symbol
        if symbol not in vocab.units():
            hint = vocab.close_units(symbol)
            close = f"; close matches: {', '.join(hint)}" if hint else ""
            raise ValidationError(f"'{symbol}' is not a SenML unit{close}")
        return symbol


class Term(fields.String):
    """A DTPR element id of one category (local terms included)."""

    def __init__(self, category: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.category = category

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        term_id = super()._deserialize(value, attr, data, **kwargs).strip()
        if vocab.term(self.category, term_id) is None:
            hint = vocab.close_terms(self.category, term_id)
            close = f"; close matches: {', '.join(hint)}" if hint else ""
            what = self.category.replace("_", " ")
            raise ValidationError(f"'{term_id}' is not a DTPR {what}{close}")
        return term_id


def _terms(category: str, **kwargs: Any) -> fields.List[str]:
    return fields.List(Term(category), **kwargs)


class DevEui(BlankIsNone, fields.String):
    """A LoRaWAN DevEUI: 16 hex digits, stored upper-case; separators are dropped."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        cleaned = re.sub(r"[\s:-]", "", super()._deserialize(value, attr, data, **kwargs)).upper()
        if not DEV_EUI.match(cleaned):
            raise ValidationError("not a DevEUI; use 16 hexadecimal digits, e.g. 70B3D57ED0001234")
        return cleaned


def _latest_today() -> date:
    """Today's date wherever the person is: a day after UTC's, so that no time zone's today is
    in the future."""
    return datetime.now(UTC).date() + timedelta(days=1)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class OrganisationSchema(StrictSchema):
    slug = Text(required=True, validate=_slug("organisation slug", ORGANISATION_SLUG_HELP))
    name = Text(required=True, validate=validate.Length(max=200))
    kind = Text(required=True, validate=_one_of(ORGANISATION_KINDS))
    contact_email = fields.Email(required=True)
    privacy_notice_url = OptionalUrl()
    dpo_contact = OptionalText(validate=validate.Length(max=200))
    website = OptionalUrl()


class MetricSchema(StrictSchema):
    key = Text(
        required=True,
        validate=validate.And(
            validate.Length(max=64, error="is too long (64 characters at most)"),
            validate.Regexp(
                METRIC_KEY,
                error="not a valid metric key; use lower-case letters, digits, '_' or '-', "
                "e.g. no2 or pm2_5",
            ),
        ),
        **described("The metric's key in the device's messages, unique on the device.", "no2"),
    )
    label = Text(
        required=True,
        validate=validate.Length(max=200),
        **described("What it measures, in words.", "Nitrogen dioxide"),
    )
    # Empty only for a yes/no metric: SenML booleans carry no unit.
    unit = Unit(
        required=True,
        **described("A SenML unit symbol (RFC 8428); empty only for a yes/no metric.", "ug/m3"),
    )
    value_kind = Text(
        load_default="number",
        validate=_one_of(VALUE_KINDS),
        **described("number (the default) or boolean, for a yes/no metric."),
    )
    personal = fields.Boolean(
        load_default=False,
        **described(
            "Whether its readings are personal data (default false); once true on a device, "
            "it stays true there, and its readings are never published."
        ),
    )
    retention = Retention(
        required=True,
        **described(
            "How long its readings are kept: an ISO 8601 duration such as P30D or PT12H, or "
            "text such as '30 days' or 'not retained' (kept for no time at all); answered as "
            "ISO 8601.",
            "P30D",
        ),
    )
    open_data = fields.Boolean(
        load_default=False,
        **described(
            "Whether its readings are published as open data (default false); never for "
            "personal data."
        ),
    )

    @validates_schema
    def personal_data_is_never_open(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("personal") and data.get("open_data"):
            raise ValidationError(
                "a personal-data metric cannot be open data; its raw values are never published",
                "open_data",
            )


class DeviceSchema(StrictSchema):
    public_id = Text(
        required=True,
        validate=_slug("public id"),
        **described("The device's id in the register; it cannot change.", "camden-aq-0042"),
    )
    organisation = Text(
        required=True,
        **described(
            "The accountable organisation's slug; in a POST it may be left out (or null "
            "or blank): it is the token's own.",
            "camden",
        ),
    )
    name = Text(
        required=True,
        validate=validate.Length(max=200),
        **described("What it is, in a few words.", "Air quality monitor"),
    )
    description = fields.String(
        load_default="",
        validate=validate.Length(max=2000),
        **described("More about it, in plain words for residents (default empty)."),
    )
    status = Text(
        load_default="planned",
        validate=_one_of(STATUSES),
        **described("Where it is in its life (default planned)."),
    )
    latitude = fields.Float(
        required=True,
        allow_nan=False,
        validate=validate.Range(-90, 90, error="must be between -90 and 90 (WGS84 degrees)"),
        **described("Where it is: latitude, WGS84 degrees.", 51.539),
    )
    longitude = fields.Float(
        required=True,
        allow_nan=False,
        validate=validate.Range(-180, 180, error="must be between -180 and 180 (WGS84 degrees)"),
        **described("Where it is: longitude, WGS84 degrees.", -0.1426),
    )
    place = Text(
        required=True,
        validate=validate.Length(max=300),
        **described("Where it is, in words.", "lamp post 42, Camden High Street"),
    )
    technology = _terms(
        "technology",
        required=True,
        validate=validate.Length(min=1, error="name at least one technology"),
        **described("DTPR technology ids: how it senses (at least one)."),
    )
    purposes = _terms(
        "purpose",
        required=True,
        validate=validate.Length(min=1, max=3, error="name between 1 and 3 purposes"),
        **described("DTPR purpose ids: why it is there (1 to 3)."),
    )
    data_types = _terms(
        "data_type",
        load_default=list,
        **described("DTPR data type ids: what it collects; 'personal' when any metric is."),
    )
    processing = _terms(
        "processing", load_default=list, **described("DTPR ids: how the data is processed.")
    )
    storage = _terms("storage", load_default=list, **described("DTPR ids: where it is stored."))
    access = _terms("access", load_default=list, **described("DTPR ids: who can see the data."))
    legal_basis = OptionalText(
        validate=_one_of(LEGAL_BASES),
        **described(
            "The UK GDPR Article 6(1) basis for collecting personal data; required when it "
            "does, null otherwise."
        ),
    )
    dpia_url = OptionalUrl(
        **described(
            "The data protection impact assessment (http or https); required with personal data."
        )
    )
    installed_on = OptionalDate(**described("When it was installed, YYYY-MM-DD; null if not yet."))
    decommissioned_on = OptionalDate(
        **described("When it was taken out of service; only, and always, when decommissioned.")
    )
    contact_email = OptionalEmail(
        **described("Where to send questions about this device; null for the organisation's.")
    )
    dev_eui = DevEui(
        **described(
            "Its LoRaWAN DevEUI, 16 hexadecimal digits, unique in the register; null if none.",
            "70B3D57ED0001234",
        )
    )
    ttn_device_id = OptionalText(
        validate=validate.Length(max=200),
        **described("Its device id on The Things Network, unique in the register; null if none."),
    )
    # How often it reports; without it, the device is never marked as not reporting.
    reporting_interval = ReportingInterval(
        **described(
            "How often it reports: an ISO 8601 duration such as PT15M, PT1H or P1D, or text such "
            "as '15 minutes' (more than zero, 1 year at most); answered as ISO 8601; null if "
            "it does not say, and then it is never marked as not reporting.",
            "PT15M",
        )
    )
    metrics = fields.List(
        fields.Nested(MetricSchema),
        load_default=list,
        **described(
            "The data it collects, one metric each (keys unique); a message's undeclared "
            "metric is refused. In a change, the list given replaces the whole list."
        ),
    )

    @validates_schema
    def consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Rules across fields: metric keys, personal data, and the decommissioning date."""
        errors: dict[str, list[str]] = {}
        keys = [m["key"] for m in data.get("metrics", [])]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            errors.setdefault("metrics", []).append(
                f"metric keys must be unique; repeated: {', '.join(repeated)}"
            )
        personal = [m["key"] for m in data.get("metrics", []) if m.get("personal")]
        data_types = data.get("data_types", [])
        if personal and "personal" not in data_types:
            errors.setdefault("data_types", []).append(
                f"must include 'personal', because metric {personal[0]} is personal data"
            )
        if personal or "personal" in data_types:
            why = (
                f"metric {personal[0]} is personal data"
                if personal
                else "it collects personal data"
            )
            if not data.get("legal_basis"):
                errors.setdefault("legal_basis", []).append(
                    f"is required because {why}; one of: {', '.join(LEGAL_BASES)}"
                )
            if not data.get("dpia_url"):
                errors.setdefault("dpia_url", []).append(
                    f"is required because {why}: link the data protection impact assessment"
                )
        status, ended = data.get("status"), data.get("decommissioned_on")
        if status == "decommissioned" and ended is None:
            errors.setdefault("decommissioned_on", []).append(
                "is required when status is decommissioned"
            )
        if status != "decommissioned" and ended is not None:
            errors.setdefault("decommissioned_on", []).append(
                "must be empty unless status is decommissioned"
            )
        if ended is not None and ended > _latest_today():
            errors.setdefault("decommissioned_on", []).append(
                "must not be in the future: a device is decommissioned once it is out of service"
            )
        started = data.get("installed_on")
        if started and ended and ended < started:
            errors.setdefault("decommissioned_on", []).append("must not be before installed_on")
        if errors:
            raise ValidationError(errors)
