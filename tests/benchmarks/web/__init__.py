"""`lamplighter bench web`: near-me, the full export and device pages with a large register."""
