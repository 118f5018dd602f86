"""`lamplighter web`: serve the public register with gunicorn until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
from typing import Any

from register.config import Settings


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("web", help="serve the public register (gunicorn)")
    parser.add_argument("--port", type=int, help="port to listen on (default: web.port)")
    parser.add_argument("--workers", type=int, help="worker processes (default: web.workers)")
    parser.set_defaults(run=run_web)


def gunicorn_options(settings: Settings, port: int | None, workers: int | None) -> dict[str, Any]:
    """The gunicorn settings for these Lamplighter settings."""
    return {
        "bind": f"{settings.web.host}:{port or settings.web.port}",
        "workers": workers or settings.web.workers,
        "worker_class": "gthread",
        "threads": 4,
        "accesslog": None,
        "errorlog": "-",
        "graceful_timeout": 10,
        "proc_name": "lamplighter-web",
    }


def run_web(settings: Settings, args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication  # noqa: PLC0415 - keeps `--help` fast

    from web import create_app  # noqa: PLC0415

    class LamplighterWeb(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings, args.port, args.workers).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            # Called in each worker after the fork, so each has its own connection pool.
            return create_app(settings)

    address = f"http://{settings.web.host}:{args.port or settings.web.port}"
    print(f"serving the register on {address}", flush=True)  # noqa: T201
    LamplighterWeb().run()
    return 0


def web_process(settings: Settings) -> list[str] | None:
    """`lamplighter up` always serves the register."""
    return ["web"]
