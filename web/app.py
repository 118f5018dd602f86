"""The web application factory: `create_app` only wires things, in this order: settings,
database, security headers, the proxy in front (if any), blueprints."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from register.platform import config
from register.platform.config import Settings
from web import database, security_headers
from web.api import page as api_page
from web.api import routes as api
from web.json_provider import IsoJSONProvider
from web.views import console, devices, errors, exports, health, home, organisations, system


def create_app(settings: Settings | None = None) -> Flask:
    """The web application for these settings (by default, the config file's)."""
    if settings is None:
        settings = config.load(config.default_config_path())
    app = Flask(__name__)
    app.config["LAMPLIGHTER_SETTINGS"] = settings
    app.json = IsoJSONProvider(app)
    database.init_app(app, settings)
    security_headers.init_app(app, settings)
    proxies = settings.web.trusted_proxies
    if proxies:
        # Behind a proxy: the client's address, scheme and host come from its X-Forwarded-*.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    blueprints = (
        home,
        devices,
        organisations,
        system,
        exports,
        api,
        api_page,
        health,
        console,
        errors,
    )
    for module in blueprints:
        app.register_blueprint(module.blueprint)
    return app
