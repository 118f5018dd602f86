"""`lamplighter orgs add|list`: the organisations accountable for devices."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from register import organisations
from register.audit import Actor
from register.platform import db
from register.platform.config import Settings
from register.schemas import ORGANISATION_KINDS
from register.validation import InvalidEntry


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("orgs", help="add or list organisations")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an organisation")
    add.add_argument("slug", help="short id, e.g. camden")
    add.add_argument("name", help='full name, e.g. "London Borough of Camden"')
    add.add_argument("--kind", required=True, help=f"one of: {', '.join(ORGANISATION_KINDS)}")
    add.add_argument("--email", required=True, help="contact email for questions from the public")
    add.add_argument("--privacy-notice-url", help="link to the privacy notice")
    add.add_argument("--dpo-contact", help="data protection officer's contact")
    add.add_argument("--website", help="the organisation's website")
    add.set_defaults(run=run_add)
    listing = actions.add_parser("list", help="list organisations")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=run_list)


def run_add(settings: Settings, args: argparse.Namespace) -> int:
    raw = {
        "slug": args.slug,
        "name": args.name,
        "kind": args.kind,
        "contact_email": args.email,
        "privacy_notice_url": args.privacy_notice_url,
        "dpo_contact": args.dpo_contact,
        "website": args.website,
    }
    with db.connect(settings) as conn:
        try:
            with db.transaction(conn):
                organisations.create_organisation(conn, raw, Actor.command_line())
        except InvalidEntry as invalid:
            for error in invalid.errors:
                print(f"lamplighter: {error}", file=sys.stderr)
            return 1
    print(f"added organisation {args.slug}")
    return 0


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    with db.connect(settings) as conn:
        found = organisations.list_organisations(conn)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for org in found:
        print(f"{org['slug']:<24} {org['kind']:<20} {org['name']}")
    return 0
