"""`lamplighter devices credentials issue|revoke|list`: a device's MQTT credential on the broker.

`issue` prints the new password once, on standard output, and nothing else there, so a script
can take it; what it means goes to standard error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from register.audit import Actor, NotAllowed
from register.credentials import device_credentials
from register.platform import db
from register.platform.config import Settings
from register.queries import registry

T = TypeVar("T")


def add_actions(actions: Any) -> None:
    """`credentials` under `lamplighter devices`."""
    parser = actions.add_parser("credentials", help="issue, revoke or list devices' MQTT logins")
    steps = parser.add_subparsers(dest="step", metavar="STEP", required=True)
    issuing = steps.add_parser("issue", help="a new MQTT password for a device (shown once)")
    issuing.add_argument("device", help="the device's public id, its MQTT username")
    issuing.set_defaults(run=run_issue)
    revoking = steps.add_parser("revoke", help="end a device's MQTT credential")
    revoking.add_argument("device")
    revoking.set_defaults(run=run_revoke)
    listing = steps.add_parser("list", help="every credential, working or revoked (no secrets)")
    listing.add_argument("--org", help="only this organisation's devices")
    listing.set_defaults(run=run_list)


def _change(settings: Settings, change: Callable[[Any, Actor], T]) -> T | None:
    """Make one change as the command line, in a transaction; None (said on standard error)
    when it is refused."""
    try:
        with db.connect(settings) as conn, conn.transaction():
            return change(conn, Actor.command_line())
    except (device_credentials.CredentialError, NotAllowed) as error:
        print(f"lamplighter: {error}", file=sys.stderr)
        return None


def run_issue(settings: Settings, args: argparse.Namespace) -> int:
    issued = _change(
        settings, lambda conn, actor: device_credentials.issue(conn, args.device, actor)
    )
    if issued is None:
        return 1
    replaced = (
        " It replaces the device's earlier one, which no longer works." if issued.replaced else ""
    )
    if issued.first:
        replaced += (
            " It is the register's first device credential: from now on Lamplighter's broker"
            " refuses clients that do not log in."
        )
    print(
        f"A new MQTT credential for {issued.username}: username {issued.username}, and the "
        f"password below. It is shown this once; the register keeps only its hash.{replaced}",
        file=sys.stderr,
    )
    print(issued.password)
    return 0


def run_revoke(settings: Settings, args: argparse.Namespace) -> int:
    ended = _change(
        settings, lambda conn, actor: device_credentials.revoke(conn, args.device, actor)
    )
    if ended is None:
        return 1
    if not ended:
        print(f"lamplighter: {args.device} has no working MQTT credential", file=sys.stderr)
        return 1
    print(f"{args.device}: its MQTT credential is revoked")
    return 0


def standing(row: dict[str, Any]) -> str:
    """'working', or when and by whom a credential or account was revoked."""
    if row["revoked_at"] is None:
        return "working"
    return f"revoked {row['revoked_at']:%Y-%m-%d %H:%M} by {row['revoked_by']}"


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    with db.connect(settings) as conn:
        if args.org is not None and registry.get_organisation(conn, args.org) is None:
            print(f"lamplighter: there is no organisation {args.org!r}", file=sys.stderr)
            return 1
        listed = device_credentials.list_credentials(conn, args.org)
    for c in listed:
        ended = standing(c)
        print(
            f"{c['public_id']}\tissued {c['issued_at']:%Y-%m-%d %H:%M} by {c['issued_by']}\t{ended}"
        )
    if not listed:
        print("no device credentials", file=sys.stderr)
    return 0
