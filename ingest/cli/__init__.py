"""The ingest side's `lamplighter` commands (`ingest`, `simulate`) and the processes
`lamplighter up` runs; `register.platform.cli`'s table names them."""
