"""Demo data: a realistic London register, seeded by `lamplighter demo` (and `make run`)."""
