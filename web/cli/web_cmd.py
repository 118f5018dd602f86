"""`lamplighter web`: serve the public register with gunicorn until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
from typing import Any

from register.platform.config import Settings


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("web", help="serve the public register (gunicorn)")
    parser.add_argument("--port", type=int, help="port to listen on (default: web.port)")
    parser.add_argument("--workers", type=int, help="worker processes (default: web.workers)")
    parser.set_defaults(run=run_web)


def run_web(settings: Settings, args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication  # noqa: PLC0415 - keeps `--help` fast

    from web.app import create_app  # noqa: PLC0415
    from web.serving import gunicorn_options  # noqa: PLC0415

    class LamplighterWeb(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = gunicorn_options(settings, port=args.port, workers=args.workers)
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            # Called in each worker after the fork, so each has its own connection pool.
            return create_app(settings)

    address = f"http://{settings.web.host}:{args.port or settings.web.port}"
    print(f"serving the register on {address}", flush=True)
    LamplighterWeb().run()
    return 0


def process(settings: Settings) -> list[str] | None:
    """`lamplighter up` always serves the register."""
    return ["web"]
