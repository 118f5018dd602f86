"""Settings: good and bad files, environment overrides, and the command line's error contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from register.platform import config
from register.platform.cli.config_cmd import example_text
from register.platform.config import ConfigError
from tests.conftest import run_cli


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file() -> None:
    settings = config.load(None, environ={})
    assert settings.web.port == 8080
    assert settings.services.pg_port == 5433
    assert settings.services.mqtt_port == 1883
    assert settings.web.host == settings.services.host == "127.0.0.1"
    assert settings.database_url.startswith("postgresql://lamplighter@127.0.0.1:5433/lamplighter?")
    assert settings.mqtt_url == "mqtt://127.0.0.1:1883"
    assert [s.format for s in settings.mqtt.sources] == ["native", "senml", "ttn", "chirpstack"]


def test_a_good_file_sets_values_and_records_their_origin(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[database]
url = "postgresql://ll:secret@db.example.org:5432/lamplighter"
pool_max = 20

[web]
port = 9000

[services]
data_dir = "state"
start_timeout = 5

[[mqtt.sources]]
name = "ttn-camden"
format = "ttn"
url = "mqtts://eu1.cloud.thethings.network:8883"
""",
    )
    settings = config.load(path, environ={})
    assert settings.database_url == "postgresql://ll:secret@db.example.org:5432/lamplighter"
    assert settings.database.pool_max == 20
    assert settings.web.port == 9000
    assert settings.services.start_timeout == 5.0
    assert settings.data_dir == tmp_path / "state"
    (source,) = settings.mqtt.sources
    assert source.name == "ttn-camden"
    assert source.topics == ["v3/+/devices/+/up"]
    assert settings.origins["web.port"] == str(path)
    assert "web.host" not in settings.origins


def test_data_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[services]\ndata_dir = "../elsewhere"\n')
    assert config.load(path, environ={}).data_dir == (tmp_path.parent / "elsewhere").resolve()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[database]\nulr = 'x'\n", "unknown key 'database.ulr' (did you mean 'url'?)"),
        ("[webb]\nport = 1\n", "unknown section [webb] (did you mean 'web'?)"),
        ("[web]\nport = '8080'\n", "'web.port' must be an integer, not a string"),
        ("[web]\nport = true\n", "'web.port' must be an integer, not true/false"),
        ("[web]\nport = 70000\n", "'web.port' must be a port number from 1 to 65535"),
        ("[web]\nhost = 5\n", "'web.host' must be a string, not an integer"),
        ("[services]\nstart_timeout = 0\n", "'services.start_timeout' must be greater than 0"),
        ("[database]\nurl = 'mysql://db/x'\n", "'database.url' must be a URL starting with"),
        ("[database]\nurl = 'postgresql://db:99999/x'\n", "'database.url' is not a valid URL"),
        ("[database]\nurl = 'postgresql:///x'\n", "'database.url' must be a URL that names a host"),
        ("[mqtt]\nurl = 'http://broker'\n", "'mqtt.url' must be a URL starting with mqtt://"),
        ("[mqtt]\nprotocol = '4'\n", "'mqtt.protocol' must be one of: 5, 3.1.1"),
        ("web = 3\n", "[web] must be a table"),
        ("[web\n", "not valid TOML"),
        ("[mqtt]\nsources = ['x']\n", "'mqtt.sources' must be a list of tables"),
        ("[[mqtt.sources]]\nformat = 'ttn'\n", "'mqtt.sources[0].name' is required"),
        (
            "[[mqtt.sources]]\nname = 'a'\nformat = 'lora'\n",
            "'mqtt.sources[0].format' must be one of: native, senml, ttn, chirpstack",
        ),
        (
            "[[mqtt.sources]]\nname = 'a'\ntopic = 'x/#'\n",
            "unknown key 'mqtt.sources[0].topic' (did you mean 'topics'?)",
        ),
        (
            "[[mqtt.sources]]\nname = 'a'\n[[mqtt.sources]]\nname = 'a'\n",
            "two sources are named 'a'",
        ),
        (
            "[[mqtt.sources]]\nname = 'a'\ntopics = [1]\n",
            "'mqtt.sources[0].topics' must be a list of strings",
        ),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config.load(path, environ={})
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        config.load(tmp_path / "nope.toml", environ={})


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[web]\nport = 9000\n[services]\npg_port = 6000\n")
    settings = config.load(
        path,
        environ={
            "LAMPLIGHTER_WEB_PORT": "9100",
            "LAMPLIGHTER_SERVICES_DATA_DIR": "/srv/lamplighter",
            "LAMPLIGHTER_SERVICES_START_TIMEOUT": "2.5",
            "LAMPLIGHTER_MQTT_SHARED_GROUP": "ingesters",
            "LAMPLIGHTER_CONFIG": str(path),  # names the file; not a setting
            "LAMPLIGHTER_INSTALL_SKIP_BROWSER": "1",  # read by deploy/install; not a setting
        },
    )
    assert settings.web.port == 9100
    assert settings.services.pg_port == 6000
    assert settings.data_dir == Path("/srv/lamplighter")
    assert settings.services.start_timeout == 2.5
    assert settings.mqtt.shared_group == "ingesters"
    assert settings.origins["web.port"] == "environment (LAMPLIGHTER_WEB_PORT)"
    assert settings.database_url.startswith("postgresql://lamplighter@127.0.0.1:6000/")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"LAMPLIGHTER_WEB_PORT": "eighty"},
            "LAMPLIGHTER_WEB_PORT must be an integer, not 'eighty'",
        ),
        ({"LAMPLIGHTER_WEB_PORT": "0"}, "LAMPLIGHTER_WEB_PORT must be a port number"),
        (
            {"LAMPLIGHTER_WEB_PROT": "80"},
            "unknown setting variable LAMPLIGHTER_WEB_PROT (did you mean 'LAMPLIGHTER_WEB_PORT'?)",
        ),
        ({"LAMPLIGHTER_DATABASE_URL": "sqlite:///x"}, "LAMPLIGHTER_DATABASE_URL must be a URL"),
        (
            {"LAMPLIGHTER_SERVICES_START_TIMEOUT": "soon"},
            "LAMPLIGHTER_SERVICES_START_TIMEOUT must be a number",
        ),
    ],
)
def test_bad_environment_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(None, environ=environ)
    assert str(caught.value).startswith("environment: ")
    assert message in str(caught.value)


def test_config_show_masks_secrets_and_reports_origins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[database]
url = "postgresql://ll:hunter2@db.example.org/lamplighter"
[mqtt]
password = "broker-secret"
[[mqtt.sources]]
name = "ttn"
format = "ttn"
password = "source-secret"
""",
    )
    shown = run_cli("config", "show", "--json", config_path=path)
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    assert values["database"]["url"] == "postgresql://ll:********@db.example.org/lamplighter"
    assert values["mqtt"]["password"] == "********"
    assert values["mqtt"]["sources"][0]["password"] == "********"
    assert values["web"]["port"] == 8080
    text = run_cli("config", "show", config_path=path, env={"LAMPLIGHTER_WEB_PORT": "8181"})
    assert text.returncode == 0, text.stderr
    assert "hunter2" not in text.stdout + shown.stdout
    assert "source-secret" not in text.stdout + shown.stdout
    assert "broker-secret" not in text.stdout + shown.stdout
    port_line = next(line for line in text.stdout.splitlines() if line.strip().startswith("port"))
    assert "8181" in port_line and "LAMPLIGHTER_WEB_PORT" in port_line


def test_a_misspelt_key_exits_2_with_one_line_naming_key_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[services]\npg_prot = 5433\n")
    result = run_cli("config", "show", config_path=path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0] and "services.pg_prot" in lines[0]
    assert "did you mean 'pg_port'" in lines[0]


def test_every_command_refuses_a_bad_config_the_same_way(tmp_path: Path) -> None:
    path = write(tmp_path, "[web]\nport = 'x'\n")
    for command in (["db", "status"], ["services", "status"], ["up"]):
        result = run_cli(*command, config_path=path)
        assert result.returncode == 2, command
        assert "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1
        assert "'web.port' must be an integer" in result.stderr


def test_the_example_config_is_current_and_documents_every_setting(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    text = example.read_text(encoding="utf-8")
    assert text == example_text(), "config.example.toml is stale: lamplighter config example > it"
    for section, cls in config.SECTIONS.items():
        assert f"[{section}]" in text
        for field, _ in config.setting_fields(cls):
            if field.name != "sources":
                assert f"# {field.name} = " in text, f"{section}.{field.name} is not documented"
                assert config.env_name(section, field.name) in text
    # Uncommented, the example is a valid config, and the defaults it shows are the real ones.
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") and (" = " in line or line.startswith("# [[")) else line
        for line in text.splitlines()
    )
    assert config.load(write(tmp_path, uncommented), environ={}) == config.load(None, environ={})


def test_a_command_line_option_overrides_one_value_of_one_section() -> None:
    settings = config.Settings()
    changed = settings.with_values("jobs", metrics_port=0)
    assert changed.jobs.metrics_port == 0 and settings.jobs.metrics_port == 9109
    assert changed.jobs.retention_interval == settings.jobs.retention_interval
    assert changed.ingest == settings.ingest
    with pytest.raises(TypeError):
        settings.with_values("jobs", no_such_setting=1)
