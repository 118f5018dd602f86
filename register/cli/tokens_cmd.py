"""`lamplighter tokens create|list|revoke`: API tokens for scripts and gateways.

`create` prints the new token, and only the token, on standard output, so a script can keep it
(`TOKEN=$(lamplighter tokens create …)`); what it is and how to keep it safe goes to standard
error. The token is never shown again.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from register.accounts import api_tokens
from register.audit import Actor, NotAllowed
from register.platform import db
from register.platform.config import Settings


def _expiry(text: str) -> date:
    """A token's expiry date, refused (exit code 2) when it is not a date a token may have."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None
    try:
        api_tokens.check_expiry(day)
    except api_tokens.TokenError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return day


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("tokens", help="create, list or revoke API tokens")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it, once")
    create.add_argument("--org", required=True, help="the organisation's slug, e.g. camden")
    create.add_argument("--name", required=True, help="what uses it, e.g. gateway-sync")
    create.add_argument(
        "--expires", type=_expiry, metavar="DATE", help="the last day it works (UTC), YYYY-MM-DD"
    )
    create.set_defaults(run=run_create)
    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--org", help="only this organisation's")
    listing.set_defaults(run=run_list)
    revoke = actions.add_parser("revoke", help="end a token at once")
    revoke.add_argument("id", type=int, help="the token's id, as `tokens list` shows it")
    revoke.set_defaults(run=run_revoke)


def run_create(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with db.connect(settings) as conn, db.transaction(conn):
            token_id, secret = api_tokens.create(
                conn,
                organisation=args.org,
                name=args.name,
                made_by=Actor.command_line(),
                expires_on=args.expires,
            )
    except api_tokens.TokenError as error:
        print(f"lamplighter: {error}", file=sys.stderr)
        return 1
    until = f"until the end of {args.expires} (UTC)" if args.expires else "until it is revoked"
    print(
        f"API token {token_id} ({args.name}) for {args.org}, which works {until}. It is shown "
        f"only now: keep it in a secret store. Send it as 'Authorization: Bearer <token>'; "
        f"end it with 'lamplighter tokens revoke {token_id}'.",
        file=sys.stderr,
    )
    print(secret)
    return 0


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    with db.connect(settings) as conn, db.transaction(conn):
        found = api_tokens.list_tokens(conn, args.org)
    for row in found:
        if row["revoked_at"] is not None:
            state = f"revoked {row['revoked_at']:%Y-%m-%d}"
        elif row["expires_at"] is not None:
            state = f"expires {row['expires_at']:%Y-%m-%d %H:%M}Z"
        else:
            state = "no expiry"
        used = f"{row['last_used_at']:%Y-%m-%d %H:%M}Z" if row["last_used_at"] else "never used"
        print(
            f"{row['id']:>5} {row['organisation']:<16} {row['prefix']}… {row['name']:<24}"
            f" {state:<24} {used:<18} made by {row['created_by_label']}"
        )
    return 0


def run_revoke(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with db.connect(settings) as conn, db.transaction(conn):
            ended = api_tokens.revoke(conn, args.id, Actor.command_line())
    except (api_tokens.TokenError, NotAllowed) as error:
        print(f"lamplighter: {error}", file=sys.stderr)
        return 1
    print(f"revoked API token {args.id} ({ended['name']}, {ended['organisation']})")
    return 0
