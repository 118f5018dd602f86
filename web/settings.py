"""The web site's settings: `[web]`."""

from __future__ import annotations

import dataclasses

from register.platform.config.fields import (
    at_least_one,
    not_negative,
    port,
    positive,
    setting,
    url_check,
)


@dataclasses.dataclass(frozen=True)
class WebSettings:
    host: str = setting("127.0.0.1", "Address the web server listens on.")
    port: int = setting(8080, "Port the web server listens on.", check=port)
    workers: int = setting(2, "Web server worker processes.", check=at_least_one)
    public_url: str = setting(
        "",
        "The site's public address, for QR codes on signs. Empty: the address a request came to.",
        check=url_check(("https", "http"), allow_empty=True),
    )
    tile_url: str = setting(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "Map tile URL template; without a network the map shows its markers on a blank ground.",
    )
    tile_attribution: str = setting(
        "© OpenStreetMap contributors", "Credit shown on the map for its tiles."
    )
    login_limit_per_address: int = setting(
        20,
        "Failed console sign-ins from one address within 15 minutes before its sign-ins are "
        "refused; 0 turns this limit off. Behind a proxy, set web.trusted_proxies, or every "
        "client has the proxy's address.",
        check=not_negative,
    )
    trusted_proxies: int = setting(
        0,
        "Reverse proxies in front of the site that set X-Forwarded-For, -Proto and -Host (1 for "
        "one TLS-terminating proxy); 0 trusts none of those headers.",
        check=not_negative,
    )
    session_idle_minutes: float = setting(
        30.0, "Minutes a console session may sit idle before it ends.", check=positive
    )
    statement_timeout: float = setting(
        10.0,
        "Seconds a web request's database statement may run before it is cancelled (a 503).",
        check=positive,
    )
