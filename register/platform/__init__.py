"""What every package shares: settings (`config/`), the database's lifecycle and migrations
(`db.py`, `migrations/`, `queries.py`), and the `lamplighter` command line (`cli/`)."""
