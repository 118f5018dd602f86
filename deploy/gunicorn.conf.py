"""gunicorn settings for serving Lamplighter's web site in production.

    gunicorn -c deploy/gunicorn.conf.py

`lamplighter web` uses the same choices; settings come from $LAMPLIGHTER_CONFIG.
"""

import os

wsgi_app = "web.wsgi:app"
bind = os.environ.get("LAMPLIGHTER_GUNICORN_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("LAMPLIGHTER_GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = 4
# Behind a reverse proxy that terminates TLS and logs requests.
accesslog = None
errorlog = "-"
graceful_timeout = 10
proc_name = "lamplighter-web"
