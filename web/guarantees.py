"""What Lamplighter guarantees, and how, in plain English: the about page and its JSON twin.

Each guarantee says only what the code carries out today: a page must never promise what
nothing does.
"""

from __future__ import annotations

INTRODUCTION = (
    "Many registers of sensors say what a sensor collects. Lamplighter also makes it true: the "
    "software that receives the sensors' data checks every reading against the register."
)


# Each guarantee: an id, a title and how it is kept.
GUARANTEES: list[dict[str, str]] = [
    {
        "id": "undeclared_data_refused",
        "title": "Data the register does not declare is never stored",
        "how": (
            "Each device's entry lists the data it may send. When a reading arrives from a "
            "device that is not in the register, not active, or decommissioned, or is data "
            "the device does not declare, or is in another unit, it is refused and kept "
            "aside, not stored with the readings, so that engineers can see why. Each "
            "device's page counts what was refused."
        ),
    },
    {
        "id": "retention_enforced",
        "title": "How long data is kept is declared, and checked in the open",
        "how": (
            'Each kind of data has a declared retention, such as "30 days". Readings older '
            "than that are refused on arrival. Each device's page shows its oldest stored "
            "reading next to the declared retention, and says plainly when data is kept "
            "longer than declared: stored readings are not yet deleted automatically as "
            "they pass their retention."
        ),
    },
    {
        "id": "changes_public",
        "title": "Every change is public",
        "how": (
            "Any change to a device's purpose, the data it collects or how long it is kept "
            "appears in the device's history with its date and the organisation that made "
            "it. People's names are not published."
        ),
    },
    {
        "id": "personal_data_marked",
        "title": "Personal data is marked, and never published",
        "how": (
            "When a device collects personal data, its page says so first, with the law "
            "that allows it and a link to the data protection impact assessment. The raw "
            "values of personal data are never served on a public page, export or API."
        ),
    },
    {
        "id": "nothing_lost",
        "title": "Nothing is lost",
        "how": (
            "Readings are received with MQTT at quality-of-service level 1 and acknowledged "
            "only once they are stored, so a crash or a database outage loses nothing: the "
            "broker sends them again, and a reading sent twice is stored once."
        ),
    },
]
