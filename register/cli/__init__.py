"""The register's own commands: `lamplighter orgs`, `devices` and `demo`. The command line
itself, and its table of every package's commands, is `register.platform.cli`."""
