"""Every setting in the table is read by the code it configures: a setting that nothing reads
would let an operator set something that does nothing, or a page promise what nothing does."""

from __future__ import annotations

import re
from pathlib import Path

from register.platform import config

CHECKOUT = Path(__file__).resolve().parents[2]
PACKAGES = ("register", "ingest", "web")
# Where settings are declared, loaded and shown: reading a setting there proves nothing.
DECLARING = ("register/platform/config/", "settings.py")


def code_outside_the_settings() -> str:
    texts = []
    for package in PACKAGES:
        for path in sorted((CHECKOUT / package).rglob("*.py")):
            relative = path.relative_to(CHECKOUT).as_posix()
            if relative.startswith(DECLARING[0]) or relative.endswith(DECLARING[1]):
                continue
            texts.append(path.read_text(encoding="utf-8"))
    texts.append((CHECKOUT / "deploy" / "gunicorn.conf.py").read_text(encoding="utf-8"))
    return "\n".join(texts)


def test_every_setting_is_read_somewhere() -> None:
    code = code_outside_the_settings()
    unread = []
    for section, section_cls in config.SECTIONS.items():
        for field, kind in config.setting_fields(section_cls):
            rows = config.table_list_type(kind)
            names = [field.name]
            if rows is not None:
                names += [f.name for f, _ in config.setting_fields(rows)]
            for name in names:
                # An attribute read: `settings.web.port`, `s.pg_port`, `source.username`.
                if not re.search(rf"\.{name}\b", code):
                    unread.append(f"{section}.{name}")
    assert unread == [], f"settings that no code reads: {', '.join(unread)}"
