"""The register's jobs: the work that keeps its promises over time.

Each job is a plain function that takes a connection and the settings and returns an `Outcome`:
what it did, in a line for a person, and how many rows it affected. Tests call the functions
directly; `catalogue.py` lists them with their intervals, `runs.py` runs one and records the
run, and `scheduler.py` only decides when.
"""
