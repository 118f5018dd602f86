"""The WSGI entry point for servers run outside `lamplighter web`: `gunicorn web.wsgi:app`.

Settings come from $LAMPLIGHTER_CONFIG (or ./config.toml) and LAMPLIGHTER_* variables.
"""

from web.app import create_app

app = create_app()
