"""The console's device form: its fields as typed, turned into a raw device entry for
`register.devices`, and the register's field errors placed back on the form.

A form is kept as typed (strings, checked boxes), so a form with errors shows again exactly what
was sent. Metric rows are numbered on the form (`metrics-3-unit`); a withdrawn or blank row is
left out of the entry, so `row_of` maps an entry's metric position back to its row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from register import periods, vocab
from register.schemas import INTERVAL_HELP, LEGAL_BASES, SLUG_HELP, STATUSES
from register.validation import FieldError
from web.device_card import LEGAL_BASIS_TEXT, STATUS_TEXT

# The device's own fields, in the form's order, with their labels and hints.
TEXT_FIELDS = {
    "public_id": ("Public id", f"Fixed once the device is added; {SLUG_HELP}."),
    "name": ("Name", "What residents see, e.g. Air quality monitor."),
    "description": ("Description", "What it does, in a sentence or two."),
    "place": ("Place", "Where it is, e.g. lamp post 42, Camden High Street."),
    "latitude": ("Latitude", "WGS84 degrees, between -90 and 90, e.g. 51.539."),
    "longitude": ("Longitude", "WGS84 degrees, between -180 and 180, e.g. -0.1426."),
    "installed_on": ("Installed on", ""),
    "decommissioned_on": ("Decommissioned on", ""),
    "dpia_url": (
        "Data protection impact assessment (link)",
        "Required when it collects personal data.",
    ),
    "contact_email": ("Contact email", "Optional."),
    "dev_eui": ("LoRaWAN DevEUI", "Optional; 16 hexadecimal digits."),
    "ttn_device_id": ("The Things Network device id", "Optional."),
    "reporting_interval": (
        "Reporting interval",
        INTERVAL_HELP[0].upper() + INTERVAL_HELP[1:] + ".",
    ),
}
# Decommissioning has its own page, which says what it means: the form offers the other statuses
# (a decommissioned device's entry is archived, and has no form).
STATUSES_ON_FORM = {s: STATUS_TEXT[s] for s in ("planned", "active", "suspended")}
CHOICE_FIELDS = {
    "status": ("Status", {s: STATUS_TEXT[s] for s in STATUSES}),
    "legal_basis": (
        "Legal basis for personal data",
        {"": "None: it collects no personal data", **{b: LEGAL_BASIS_TEXT[b] for b in LEGAL_BASES}},
    ),
}
LIST_FIELDS = {
    "technology": "Technology",
    "purposes": "Purposes (1 to 3)",
    "data_types": "Data it collects",
    "processing": "How the data is processed",
    "storage": "Where the data is stored",
    "access": "Who can see the data",
}
METRIC_FIELDS = {
    "key": "Key",
    "label": "Label",
    "unit": "Unit",
    "value_kind": "Kind of value",
    "personal": "Personal data",
    "retention": "Kept for",
    "open_data": "Open data",
}
METRIC_HINTS = {
    "key": "Lower-case letters, digits, '_' or '-', e.g. no2; fixed once saved.",
    "unit": "A SenML unit, e.g. ug/m3, Cel or %RH; empty for a yes or no value.",
    "retention": periods.HELP[0].upper() + periods.HELP[1:] + ".",
}
VALUE_KIND_TEXT = {"number": "A number", "boolean": "Yes or no"}
METRIC_TEXT = ("key", "label", "unit", "value_kind", "retention")
METRIC_BOXES = ("personal", "open_data")
LABELS = {
    **{name: label for name, (label, _) in TEXT_FIELDS.items()},
    **{name: label for name, (label, _) in CHOICE_FIELDS.items()},
    **LIST_FIELDS,
}
# A form with more rows than this is not one a person typed.
MOST_METRIC_ROWS = 200
# A row number of up to 4 digits: the form numbers its rows from 0 and has at most
# MOST_METRIC_ROWS of them. A longer one is refused before int() reads it (thousands of digits
# pass Python's limit for int).
_ROW = re.compile(r"^metrics-([0-9]+)-")
LONGEST_ROW_NUMBER = 4
_POSITION = re.compile(r"^metrics\[(\d+)\](?:\.(\w+))?")


class BadForm(ValueError):
    """A form that no page of the console sends (too many rows, a row number too long); the
    message says why."""


@dataclass
class MetricRow:
    key: str = ""
    label: str = ""
    unit: str = ""
    value_kind: str = "number"
    retention: str = ""
    personal: bool = False
    open_data: bool = False
    existing: bool = False
    withdraw: bool = False

    @classmethod
    def of_values(
        cls,
        text: dict[str, str],
        boxes: dict[str, bool],
        *,
        existing: bool = False,
        withdraw: bool = False,
    ) -> MetricRow:
        """A row from its text fields (METRIC_TEXT) and its checkboxes (METRIC_BOXES)."""
        return cls(
            key=text["key"],
            label=text["label"],
            unit=text["unit"],
            value_kind=text["value_kind"],
            retention=text["retention"],
            personal=boxes["personal"],
            open_data=boxes["open_data"],
            existing=existing,
            withdraw=withdraw,
        )

    def is_blank(self) -> bool:
        return not (self.existing or self.key or self.label or self.unit or self.retention)

    def entry(self) -> dict[str, Any]:
        """The metric as the schema reads it; no kind of value given means the schema's own."""
        typed = {name: getattr(self, name) for name in METRIC_TEXT}
        if not typed["value_kind"]:
            del typed["value_kind"]
        return {**typed, **{name: getattr(self, name) for name in METRIC_BOXES}}


@dataclass
class DeviceForm:
    """A device form as typed: the device's fields (text, or a list for the checkbox groups)
    and its metric rows."""

    values: dict[str, Any] = field(default_factory=dict)
    rows: list[MetricRow] = field(default_factory=list)

    @classmethod
    def blank(cls) -> DeviceForm:
        return cls({"status": "planned"}, [MetricRow()])

    @classmethod
    def of_entry(cls, entry: dict[str, Any]) -> DeviceForm:
        """The form of a device as the register holds it, with a blank row for a new metric."""
        values: dict[str, Any] = {}
        for name in [*TEXT_FIELDS, *CHOICE_FIELDS]:
            value = entry.get(name)
            values[name] = "" if value is None else str(value)
        for name in LIST_FIELDS:
            values[name] = list(entry.get(name) or [])
        rows = [
            MetricRow.of_values(
                {name: str(metric[name] or "") for name in METRIC_TEXT},
                {name: bool(metric[name]) for name in METRIC_BOXES},
                existing=True,
            )
            for metric in entry["metrics"]
        ]
        return cls(values, [*rows, MetricRow()])

    @classmethod
    def of_request(cls, form: MultiDict[str, str]) -> DeviceForm:
        """The form as sent; raises BadForm for one no console page sends."""
        values: dict[str, Any] = {
            name: form.get(name, "") for name in [*TEXT_FIELDS, *CHOICE_FIELDS]
        }
        for name in LIST_FIELDS:
            values[name] = form.getlist(name)
        written = {m[1] for name in form if (m := _ROW.match(name))}
        if any(len(number) > LONGEST_ROW_NUMBER for number in written):
            raise BadForm(
                f"a metric row number has more than {LONGEST_ROW_NUMBER} digits; "
                "the form numbers its rows 0, 1, 2 …"
            )
        numbers = sorted({int(number) for number in written})
        if len(numbers) > MOST_METRIC_ROWS:
            raise BadForm(f"the form has more than {MOST_METRIC_ROWS} metric rows")
        rows = [
            MetricRow.of_values(
                {name: form.get(f"metrics-{n}-{name}", "") for name in METRIC_TEXT},
                {name: bool(form.get(f"metrics-{n}-{name}")) for name in METRIC_BOXES},
                existing=bool(form.get(f"metrics-{n}-existing")),
                withdraw=bool(form.get(f"metrics-{n}-withdraw")),
            )
            for n in numbers
        ]
        return cls(values, rows or [MetricRow()])

    def decommissions(self, entry: dict[str, Any] | None) -> FieldError | None:
        """The error for a form that would decommission the device (a status this form does not
        offer): that is done on the device's decommission page, which says what it means."""
        if self.values["status"] != "decommissioned" or (
            entry is not None and entry["status"] == "decommissioned"
        ):
            return None
        if entry is None:
            return FieldError("status", "a new device cannot start decommissioned")
        return FieldError(
            "status",
            "a device is decommissioned on its own page, which says what that means: use "
            "'Decommission this device' below the form",
        )

    def with_another_row(self) -> DeviceForm:
        return DeviceForm(self.values, [*self.rows, MetricRow()])

    def kept_rows(self) -> list[int]:
        """The rows that become the entry's metrics, in order (not withdrawn, not blank)."""
        return [n for n, row in enumerate(self.rows) if not row.withdraw and not row.is_blank()]

    def entry(self, organisation: str, public_id: str | None = None) -> dict[str, Any]:
        """The raw entry the register validates: every field as typed (the schema reads the
        text), the organisation, and the public id fixed when the device exists already."""
        raw: dict[str, Any] = {name: self.values[name] for name in TEXT_FIELDS}
        raw.update({name: self.values[name] for name in CHOICE_FIELDS})
        raw.update({name: list(self.values[name]) for name in LIST_FIELDS})
        raw["organisation"] = organisation
        if public_id is not None:
            raw["public_id"] = public_id
        raw["metrics"] = [self.rows[n].entry() for n in self.kept_rows()]
        return raw


@dataclass(frozen=True)
class ShownError:
    """One error as the form shows it: the id of the field it belongs to (None: the summary
    only), and the sentence."""

    target: str | None
    text: str


def shown_errors(form: DeviceForm, errors: list[FieldError], *, editing: bool) -> list[ShownError]:
    """The register's field errors placed on the form's fields, in words."""
    kept = form.kept_rows()
    shown = []
    for error in errors:
        target, label = _place(error.field, kept, editing=editing)
        text = (
            f"{label}: {error.message}" if label else error.message[0].upper() + error.message[1:]
        )
        shown.append(ShownError(target, text))
    return shown


def _place(name: str, kept: list[int], *, editing: bool) -> tuple[str | None, str]:
    """The form field id and label of an entry's field name such as `metrics[2].unit`."""
    position = _POSITION.match(name)
    if position is not None:
        index = int(position[1])
        if index >= len(kept):
            return "metrics", "Metrics"
        row = kept[index]
        part = position[2]
        if part in METRIC_FIELDS:
            return f"metrics-{row}-{part}", f"Metric {row + 1}, {METRIC_FIELDS[part].lower()}"
        return f"metrics-{row}", f"Metric {row + 1}"
    base = name.split("[", maxsplit=1)[0]
    if base == "metrics":
        return "metrics", "Metrics"
    label = LABELS.get(base)
    if label is None or (base == "public_id" and editing):
        return None, label or base.replace("_", " ").capitalize()
    return base, label


def by_field(errors: list[ShownError]) -> dict[str, list[str]]:
    """The errors of each field id, for showing them by their fields."""
    placed: dict[str, list[str]] = {}
    for error in errors:
        if error.target is not None:
            placed.setdefault(error.target, []).append(error.text)
    return placed


def choices(category_field: str) -> list[tuple[str, str]]:
    """A checkbox group's (term id, plain-English name) pairs."""
    return [(t.id, t.name) for t in vocab.terms(vocab.DEVICE_CATEGORIES[category_field])]
