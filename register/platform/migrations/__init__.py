"""Numbered SQL migrations, applied in order by `lamplighter db upgrade` (see
`register.platform.db`)."""
