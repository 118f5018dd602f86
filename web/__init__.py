"""The Flask site: the public register, its exports and API, and the engineer console."""
