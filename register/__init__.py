"""The register: settings, the database, the device register and its rules, and scheduled jobs."""
