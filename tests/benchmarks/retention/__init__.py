"""`lamplighter bench retention`: enforce_retention on a large readings table, next to a plain
DELETE, while the ingester takes a steady load."""
