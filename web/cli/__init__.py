"""The web side's `lamplighter` commands and the process `lamplighter up` runs.

They reach the command line through entry points in pyproject.toml, so that the register never
imports this package.
"""
