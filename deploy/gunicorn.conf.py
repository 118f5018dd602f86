"""gunicorn settings for serving Lamplighter's web site in production:

    gunicorn -c deploy/gunicorn.conf.py

The options are `lamplighter web`'s (`web.serving.gunicorn_options`), from the same settings:
web.host, web.port and web.workers, read from $LAMPLIGHTER_CONFIG (or ./config.toml) and
LAMPLIGHTER_* variables such as LAMPLIGHTER_WEB_PORT.
"""

# gunicorn takes this file's module-level names that are gunicorn settings as its settings, so
# nothing here is named like one (`config` is).
from register.platform.config import default_config_path, load
from web.serving import WSGI_APP, gunicorn_options

wsgi_app = WSGI_APP
globals().update(gunicorn_options(load(default_config_path())))
