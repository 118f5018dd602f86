"""The settings table: every section, from the package that owns it, under one `Settings`.

Each package declares its own section with `fields.setting()` (a default, one line of help and
a value check): `[database]` here, `[services]` in `register/stack/settings.py`, `[mqtt]` and
`[ingest]` in `ingest/settings.py`, `[web]` in `web/settings.py`, `[jobs]` in
`register/jobs/settings.py`. `config.example.toml`,
`lamplighter config show` and the environment variable names are all derived from this table.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ingest.settings import IngestSettings, MqttSettings
from register.jobs.settings import JobsSettings
from register.platform.config.fields import at_least_one, setting, url_check
from register.stack.settings import ServicesSettings
from web.settings import WebSettings

ENV_PREFIX = "LAMPLIGHTER_"
CONFIG_ENV = "LAMPLIGHTER_CONFIG"
# Environment names that share the prefix but are not settings.
RESERVED_ENV = (CONFIG_ENV, "LAMPLIGHTER_INSTALL_")


@dataclasses.dataclass(frozen=True)
class DatabaseSettings:
    url: str = setting(
        "",
        "PostgreSQL URL. Empty means the embedded server that `lamplighter services` runs.",
        check=url_check(("postgresql", "postgres"), allow_empty=True),
    )
    pool_min: int = setting(1, "Connections each process keeps open.", check=at_least_one)
    pool_max: int = setting(10, "Most connections each process opens.", check=at_least_one)
    connect_timeout: int = setting(10, "Seconds to wait for a connection.", check=at_least_one)


@dataclasses.dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = dataclasses.field(default_factory=DatabaseSettings)
    mqtt: MqttSettings = dataclasses.field(default_factory=MqttSettings)
    ingest: IngestSettings = dataclasses.field(default_factory=IngestSettings)
    web: WebSettings = dataclasses.field(default_factory=WebSettings)
    jobs: JobsSettings = dataclasses.field(default_factory=JobsSettings)
    services: ServicesSettings = dataclasses.field(default_factory=ServicesSettings)
    # Not settings: where the values came from, for `config show` and path resolution.
    base_dir: Path = dataclasses.field(default_factory=Path.cwd, compare=False)
    origins: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def data_dir(self) -> Path:
        """The embedded services' data directory, as an absolute path."""
        return (self.base_dir / self.services.data_dir).resolve()

    @property
    def database_url(self) -> str:
        """The database URL in force: the configured one, or the embedded server's."""
        if self.database.url:
            return self.database.url
        s = self.services
        passfile = self.data_dir / "postgres" / "pgpass"
        return f"postgresql://lamplighter@{s.host}:{s.pg_port}/lamplighter?passfile={passfile}"

    @property
    def mqtt_url(self) -> str:
        """The default broker URL in force: the configured one, or the embedded broker's."""
        return self.mqtt.url or f"mqtt://{self.services.host}:{self.services.mqtt_port}"

    def with_values(self, section: str, **values: Any) -> Settings:
        """These settings with some of one section's values changed (a command-line option
        that overrides a setting)."""
        changed = dataclasses.replace(getattr(self, section), **values)
        return dataclasses.replace(self, **{section: changed})

    @property
    def uses_embedded_services(self) -> bool:
        """True when the database or the broker is the embedded one that Lamplighter runs."""
        return not self.database.url or not self.mqtt.url


SECTIONS: dict[str, type] = {
    f.name: typing.get_type_hints(Settings)[f.name]
    for f in dataclasses.fields(Settings)
    if f.name not in ("base_dir", "origins")
}


def setting_fields(section_cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    """The fields of a settings section with their resolved types."""
    hints = typing.get_type_hints(section_cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(section_cls)]


def table_list_type(kind: Any) -> type | None:
    """For a setting that is an array of tables (`list[SomeSection]`), the section; else None."""
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        if dataclasses.is_dataclass(item):
            return typing.cast(type, item)
    return None


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides a setting."""
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
