"""The public register on the web: the application factory (`web.app.create_app`), its
blueprints (`web.views`, `web.api`), templates and static files."""
