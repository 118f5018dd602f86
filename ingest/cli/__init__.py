"""The ingest side's `lamplighter` commands and the processes `lamplighter up` runs.

They reach the command line through the `lamplighter.commands` and `lamplighter.processes`
entry points declared in pyproject.toml, so that the register never imports this package.
"""
