"""Benchmarks, kept beside the tests and out of the installed packages: `lamplighter bench NAME`
runs them from a source checkout. They print figures next to targets and assert nothing; the
tests in `tests/ingest/test_bench.py` and `tests/web/test_bench.py` run them small."""
