"""What Lamplighter guarantees, and how, in plain English: the about page and its JSON twin.

Each guarantee says only what the code carries out today: a page must never promise what
nothing does. The ones kept by scheduled jobs quote the settings in force (how often each job
runs, how long refused messages are kept), and the system page shows that the jobs ran.
"""

from __future__ import annotations

from datetime import timedelta

from register import periods
from register.platform.config import Settings

INTRODUCTION = (
    "Many registers of sensors say what a sensor collects. Lamplighter also makes it true: the "
    "software that receives the sensors' data checks every reading against the register."
)


def _every(seconds: float) -> str:
    return periods.describe(timedelta(seconds=seconds))


def guarantees(settings: Settings) -> list[dict[str, str]]:
    """Each guarantee: an id, a title and how it is kept, with the settings in force."""
    jobs = settings.jobs
    retention_every = _every(jobs.retention_interval)
    return [
        {
            "id": "undeclared_data_refused",
            "title": "Data the register does not declare is never stored",
            "how": (
                "Each device's entry lists the data it may send. When a reading arrives from a "
                "device that is not in the register, not active, or decommissioned, or is data "
                "the device does not declare, or is in another unit, it is refused and kept "
                f"aside for {jobs.quarantine_keep_days} days, not stored with the readings, so "
                "that engineers can see why; then it is deleted, and for a device in the register "
                "only the count of its refused messages is kept. Each device's page counts what "
                "was refused in the last 7 and 30 days."
            ),
        },
        {
            "id": "retention_enforced",
            "title": "Data is deleted when its declared retention ends",
            "how": (
                'Each kind of data has a declared retention, such as "30 days". Readings '
                "already older than that are refused on arrival, and a scheduled job deletes "
                f"stored readings as they pass it. The job runs every {retention_every}, so a "
                f"reading is normally kept no longer than its retention plus {retention_every}; "
                "when the database is too busy for a step, the next run finishes it. When a "
                "retention is shortened, the next run deletes what has now expired. Each "
                "device's page shows its oldest stored reading next to the declared retention, "
                f"measured every {_every(jobs.compliance_interval)}, and the system page shows "
                "when the job last ran and how many readings it deleted. A reading kept too long "
                "shows as ✗ on its device's page."
            ),
        },
        {
            "id": "silence_noticed",
            "title": "A device that stops reporting is shown as not reporting",
            "how": (
                "A device may declare how often it reports. When it has sent nothing for "
                f"{jobs.silence_factor:g} times that interval, its page, the map and the list "
                f'say "not reporting", with when it was last heard from (or, if never, since when '
                f"it has been expected); this is checked every {_every(jobs.silence_interval)}, "
                "and the mark goes as soon as it reports again."
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
