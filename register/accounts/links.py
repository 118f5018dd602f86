"""The address of a one-time link that sets an account's password, as it is handed to its
person (printed by the command line, shown once by the administrators' console)."""

from __future__ import annotations

from register.platform.config import Settings

LINK_PATH = "/console/password/"


def password_link(settings: Settings, secret: str, *, site: str = "") -> str:
    """The link that sets a password: on `web.public_url` when it is set, else on `site` (the
    address a console page was asked on), else on the web server's own host and port."""
    base = settings.web.public_url or site or f"http://{settings.web.host}:{settings.web.port}"
    return f"{base.rstrip('/')}{LINK_PATH}{secret}"
