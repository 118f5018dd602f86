"""What Lamplighter guarantees, and how, in plain English: the about page and its JSON twin.

The figures in the text (how long refused data is kept, how often retention runs) are the
settings in force, so the page cannot promise something the configuration does not do.
"""

from __future__ import annotations

from register.platform.config import Settings

INTRODUCTION = (
    "Many registers of sensors say what a sensor collects. Lamplighter also makes it true: the "
    "software that receives the sensors' data checks every reading against the register."
)


def guarantees(settings: Settings) -> list[dict[str, str]]:
    """Each guarantee: an id, a title and how it is kept."""
    keep_days = settings.jobs.quarantine_keep_days
    every_minutes = round(settings.jobs.retention_interval / 60)
    return [
        {
            "id": "undeclared_data_refused",
            "title": "Data the register does not declare is never stored",
            "how": (
                "Each device's entry lists the data it may send. When a reading arrives from a "
                "device that is not in the register, not active, or decommissioned, or is data "
                "the device does not declare, or is in another unit, it is refused and kept "
                f"aside for a short time ({keep_days} days) so that engineers can see why. "
                "Each device's page counts what was refused."
            ),
        },
        {
            "id": "retention_enforced",
            "title": "Data is deleted when its declared retention ends",
            "how": (
                'Each kind of data has a declared retention, such as "30 days". Readings older '
                "than that are refused on arrival, and a scheduled job deletes stored readings "
                f"once they pass it (every {every_minutes} minutes). Each device's page shows "
                "its oldest stored reading next to the declared retention."
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
