"""Lamplighter's settings: the table of every setting (`settings`) and how they load (`loading`)."""

from register.config.loading import default_config_path, load
from register.config.settings import (
    CONFIG_ENV,
    ENV_PREFIX,
    SECTIONS,
    ConfigError,
    DatabaseSettings,
    IngestSettings,
    JobsSettings,
    MqttSettings,
    ServicesSettings,
    Settings,
    SourceSettings,
    WebSettings,
    env_name,
    setting_fields,
)

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "SECTIONS",
    "ConfigError",
    "DatabaseSettings",
    "IngestSettings",
    "JobsSettings",
    "MqttSettings",
    "ServicesSettings",
    "Settings",
    "SourceSettings",
    "WebSettings",
    "default_config_path",
    "env_name",
    "load",
    "setting_fields",
]
