"""Every setting in the table is read by the code it configures: a setting that nothing reads
would let an operator set something that does nothing, or a page promise what nothing does."""

from __future__ import annotations

import re
from pathlib import Path

from register.platform import config

CHECKOUT = Path(__file__).resolve().parents[2]
PACKAGES = ("register", "ingest", "web")
# Where settings are declared (their help texts name other settings) or handled generically
# (loaded, shown, written): a mention there proves nothing. The root's properties do read some.
NOT_READERS = (
    "register/platform/config/fields.py",
    "register/platform/config/loading.py",
    "register/platform/config/toml.py",
    "register/platform/cli/config_cmd.py",
    "ingest/settings.py",
    "web/settings.py",
    "register/stack/settings.py",
    "register/jobs/settings.py",
)


def code_that_reads_settings() -> dict[str, str]:
    """Each module's text, by its path in the checkout (and gunicorn's config file)."""
    texts = {}
    for package in PACKAGES:
        for path in sorted((CHECKOUT / package).rglob("*.py")):
            relative = path.relative_to(CHECKOUT).as_posix()
            if relative not in NOT_READERS:
                texts[relative] = path.read_text(encoding="utf-8")
    gunicorn = CHECKOUT / "deploy" / "gunicorn.conf.py"
    texts["deploy/gunicorn.conf.py"] = gunicorn.read_text(encoding="utf-8")
    return texts


def test_every_setting_is_read_somewhere() -> None:
    modules = code_that_reads_settings()
    code = "\n".join(modules.values())
    unread = []
    for section, section_cls in config.SECTIONS.items():
        for field, kind in config.setting_fields(section_cls):
            # Read as `settings.web.port`, `self.settings.services.pg_port` …
            if not re.search(rf"\b{section}\.{field.name}\b", code):
                unread.append(f"{section}.{field.name}")
            rows = config.table_list_type(kind)
            if rows is None:
                continue
            # A table's fields (`source.url`) are read where its class is used.
            users = "\n".join(t for t in modules.values() if rows.__name__ in t)
            for row_field, _ in config.setting_fields(rows):
                if not re.search(rf"\.{row_field.name}\b", users):
                    unread.append(f"{section}[].{row_field.name}")
    assert unread == [], f"settings that no code reads: {', '.join(unread)}"
