"""Lamplighter's settings: how one is declared (`fields`), the table of every section
(`settings`), how they load (`loading`), and writing TOML (`toml`)."""

from register.platform.config.fields import ConfigError
from register.platform.config.loading import default_config_path, load
from register.platform.config.settings import (
    CONFIG_ENV,
    ENV_PREFIX,
    SECTIONS,
    DatabaseSettings,
    Settings,
    env_name,
    setting_fields,
    table_list_type,
)

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "SECTIONS",
    "ConfigError",
    "DatabaseSettings",
    "Settings",
    "default_config_path",
    "env_name",
    "load",
    "setting_fields",
    "table_list_type",
]
