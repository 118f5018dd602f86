"""Serving the web site with gunicorn: its options from the settings, in one place, for
`lamplighter web` and for `gunicorn -c deploy/gunicorn.conf.py` alike."""

from __future__ import annotations

from typing import Any

from register.platform.config import Settings

WSGI_APP = "web.wsgi:app"


def gunicorn_options(
    settings: Settings, *, port: int | None = None, workers: int | None = None
) -> dict[str, Any]:
    """gunicorn's settings for these Lamplighter settings (`port` and `workers` override)."""
    return {
        "bind": f"{settings.web.host}:{port or settings.web.port}",
        "workers": workers or settings.web.workers,
        "worker_class": "gthread",
        "threads": 4,
        # Behind a reverse proxy that terminates TLS and logs requests.
        "accesslog": None,
        "errorlog": "-",
        "graceful_timeout": 10,
        "proc_name": "lamplighter-web",
    }
