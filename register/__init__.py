"""The register: organisations, devices and their declared metrics, the rules an entry must
keep (`schemas`, `validation`, `vocab/`), its audit log, import and export, and the demo.

Two parts of this package are not the register itself but what every package stands on, kept
apart: `platform/` (settings, the database and migrations, the command line) and `stack/`
(running the embedded services and the processes on one machine).
"""
