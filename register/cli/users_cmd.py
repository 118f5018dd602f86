"""`lamplighter users add|list|disable|reset`: the accounts of the people who keep the register.

`add` and `reset` print a one-time link that sets the account's password: no password ever
appears on a command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from register.accounts import users
from register.accounts.links import password_link
from register.platform import db
from register.platform.config import Settings
from register.queries import Conn

Done = TypeVar("Done")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("users", help="add, list, disable or reset console accounts")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an account and print its one-time password link")
    add.add_argument("--org", required=True, help="the organisation's slug, e.g. camden")
    add.add_argument("--email", required=True)
    add.add_argument("--role", required=True, choices=users.ROLES)
    add.add_argument("--name", default="", help="the name shown in the console")
    add.set_defaults(run=run_add)
    listing = actions.add_parser("list", help="list accounts")
    listing.add_argument("--org", help="only this organisation's")
    listing.set_defaults(run=run_list)
    disable = actions.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("email")
    disable.set_defaults(run=run_disable)
    reset = actions.add_parser("reset", help="print a new one-time link that sets the password")
    reset.add_argument("email")
    reset.set_defaults(run=run_reset)


def _change(settings: Settings, change: Callable[[Conn], Done], say: Callable[[Done], str]) -> int:
    """Make one change to accounts in a transaction, then say what was done (or why not)."""
    try:
        with db.connect(settings) as conn, db.transaction(conn):
            done = change(conn)
    except users.AccountError as error:
        print(f"lamplighter: {error}", file=sys.stderr)
        return 1
    print(say(done))
    return 0


def run_add(settings: Settings, args: argparse.Namespace) -> int:
    return _change(
        settings,
        lambda conn: users.add_user(
            conn, organisation=args.org, email=args.email, role=args.role, display_name=args.name
        ),
        lambda added: (
            f"added {args.email} ({args.role}, {args.org}). To set its password within"
            f" {users.LINK_HOURS} hours, open: {password_link(settings, added[1])}"
        ),
    )


def run_reset(settings: Settings, args: argparse.Namespace) -> int:
    return _change(
        settings,
        lambda conn: users.reset_user(conn, args.email),
        lambda secret: (
            f"to set a new password for {args.email}, open: {password_link(settings, secret)}"
        ),
    )


def run_disable(settings: Settings, args: argparse.Namespace) -> int:
    return _change(
        settings,
        lambda conn: users.disable_user(conn, args.email),
        lambda ended: f"disabled {args.email}; {ended} open session(s) ended",
    )


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    with db.connect(settings) as conn, db.transaction(conn):
        found = users.list_users(conn, args.org)
    for row in found:
        state = (
            "disabled"
            if row["disabled_at"]
            else ("active" if row["password_hash"] else "waiting for its password")
        )
        print(f"{row['organisation']:<16} {row['email']:<40} {row['role']:<9} {state}")
    return 0
