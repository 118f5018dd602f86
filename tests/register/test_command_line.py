"""The `lamplighter` command line: every package's commands come from one table in the code,
not from installed entry points, so a checkout has them all."""

from __future__ import annotations

import argparse
import dataclasses

from register.platform import cli
from register.platform.config import Settings
from register.stack.supervisor import declared_processes


def subcommands(parser: argparse.ArgumentParser) -> list[str]:
    (choices,) = (
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return list(choices)


def test_every_package_s_commands_are_on_the_command_line() -> None:
    assert subcommands(cli.build_parser()) == [
        "config",
        "services",
        "db",
        "orgs",
        "devices",
        "demo",
        "users",
        "tokens",
        "broker",
        "up",
        "ingest",
        "simulate",
        "web",
        "jobs",
        "bench",
    ]


def test_up_runs_the_ingester_the_web_the_jobs_and_on_the_embedded_broker_the_simulator() -> None:
    """On the embedded broker, also the writer that keeps its access files true."""
    embedded = Settings()
    assert [name for name, _ in declared_processes(embedded)] == [
        "broker",
        "ingest",
        "simulate",
        "web",
        "jobs",
    ]
    real_broker = dataclasses.replace(
        embedded, mqtt=dataclasses.replace(embedded.mqtt, url="mqtt://broker.example:1883")
    )
    assert [name for name, _ in declared_processes(real_broker)] == ["ingest", "web", "jobs"]


def test_bench_names_its_benchmarks_and_finds_them_in_the_checkout() -> None:
    from register.platform.cli import bench_cmd  # noqa: PLC0415

    for name in bench_cmd.BENCHMARKS:
        module = bench_cmd.load_benchmark(name)
        assert callable(module.add_arguments) and callable(module.run)
