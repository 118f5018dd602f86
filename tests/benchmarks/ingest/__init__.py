"""`lamplighter bench ingest` and the tools it shares with the load tests: a bench register,
an ingester run as a child process, and a bare subscriber to compare against."""
