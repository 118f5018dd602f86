"""Accounts for the people who keep the register: engineers and administrators, each of one
organisation. Passwords are hashed with argon2id (`passwords.py`) and set through one-time
links (`users.py`); a browser signs in to a server-side session (`sessions.py`); failed logins
are counted in the database, so that a limit holds across every process (`logins.py`)."""
