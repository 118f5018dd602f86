"""The web side's `lamplighter` command (`web`) and the process `lamplighter up` runs;
`register.platform.cli`'s table names it."""
