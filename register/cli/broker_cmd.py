"""`lamplighter broker files|accounts`: the broker's view of the register.

`files` writes a Mosquitto's password file, ACL and anonymous switch from the register, once or
(`--follow`) at every change, and has the broker reload them. Without `--dir` it serves the
embedded broker, which `lamplighter up` runs it for; with `--dir` and `--pid-file` or
`--reload-command`, a Mosquitto of your own (see the README, "Device credentials").

`accounts` adds, lists and revokes the broker accounts that are not devices: an integration
that publishes uplinks, or the ingester's account on a production broker. `add` prints the
password once on standard output, and only that.
"""

from __future__ import annotations

import argparse
import grp
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from register.audit import Actor
from register.cli.credentials_cmd import standing
from register.credentials import broker_accounts, writer
from register.credentials.broker_files import Layout
from register.platform import db
from register.platform.config import Settings
from register.stack import broker_access
from register.stack.mosquitto import EmbeddedMosquitto
from register.stack.runtime import RunAs


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("broker", help="the MQTT broker's files and accounts")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    files = actions.add_parser(
        "files", help="write a Mosquitto's password file and ACL from the register"
    )
    files.add_argument("--follow", action="store_true", help="keep them true until stopped")
    files.add_argument(
        "--dir",
        type=Path,
        help="write passwd, acl and conf.d/anonymous.conf here (default: the embedded broker's)",
    )
    how = files.add_mutually_exclusive_group()
    how.add_argument("--pid-file", type=Path, help="send SIGHUP to the pid in this file")
    how.add_argument(
        "--reload-command", help="run this to reload, e.g. 'systemctl reload mosquitto'"
    )
    files.add_argument("--group", help="the group the broker runs as, to read the files")
    files.set_defaults(run=run_files)

    accounts = actions.add_parser("accounts", help="accounts that are not devices")
    steps = accounts.add_subparsers(dest="step", metavar="STEP", required=True)
    adding = steps.add_parser("add", help="a new account (or a new password), shown once")
    adding.add_argument("username", help=broker_accounts.USERNAME_RULE)
    adding.add_argument(
        "--read", action="append", default=[], metavar="FILTER", help="a topic filter it reads"
    )
    adding.add_argument(
        "--write", action="append", default=[], metavar="FILTER", help="a topic filter it writes"
    )
    adding.add_argument("--purpose", required=True, help="what it is for, for the record")
    adding.set_defaults(run=run_add)
    revoking = steps.add_parser("revoke", help="end an account")
    revoking.add_argument("username")
    revoking.set_defaults(run=run_revoke)
    listing = steps.add_parser("list", help="every account, working or revoked (no secrets)")
    listing.set_defaults(run=run_list)


def process(settings: Settings) -> list[str] | None:
    """`lamplighter up` keeps the embedded broker's files when it uses that broker."""
    return None if settings.mqtt.url else ["broker", "files", "--follow"]


def _target(settings: Settings, args: argparse.Namespace) -> writer.Target:
    if args.dir is None:
        if args.pid_file is not None or args.reload_command is not None or args.group:
            raise SystemExit(
                "lamplighter: --pid-file, --reload-command and --group go with --dir; without"
                " it, the embedded broker's files are written and it is reloaded itself"
            )
        broker = EmbeddedMosquitto(settings)
        run_as = RunAs.for_current_process(settings.services.user)
        return writer.Target(
            broker_access.layout(settings),
            broker.reload,
            run_as.gid if run_as.name else None,
        )
    if args.pid_file is None and args.reload_command is None:
        raise SystemExit(
            "lamplighter: with --dir, say how to reload the broker: --pid-file or --reload-command"
        )
    reload = (
        writer.reload_by_signal(args.pid_file)
        if args.pid_file is not None
        else writer.reload_by_command(shlex.split(args.reload_command))
    )
    try:
        group = grp.getgrnam(args.group).gr_gid if args.group else None
    except KeyError:
        raise SystemExit(f"lamplighter: there is no group {args.group!r} on this machine") from None
    return writer.Target(Layout(args.dir), reload, group)


def run_files(settings: Settings, args: argparse.Namespace) -> int:
    target = _target(settings, args)
    if not args.follow:
        with db.connect(settings, autocommit=True) as conn:
            if writer.write(conn, target) and not target.reload():
                print(
                    f"lamplighter: written in {target.layout.directory}, but the broker "
                    "could not be told to read them",
                    file=sys.stderr,
                )
                return 1
        print(f"written: {target.layout.directory}")
        return 0
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    writer.follow(settings, target, stopping)
    return 0


def run_add(settings: Settings, args: argparse.Namespace) -> int:
    if not args.read and not args.write:
        print("lamplighter: give the account its topic filters: --read, --write", file=sys.stderr)
        return 1
    try:
        with db.connect(settings) as conn, conn.transaction():
            added = broker_accounts.add(
                conn,
                args.username,
                reads=args.read,
                writes=args.write,
                purpose=args.purpose,
                by=Actor.command_line().label,
            )
    except broker_accounts.AccountError as error:
        print(f"lamplighter: {error}", file=sys.stderr)
        return 1
    replaced = " It replaces the earlier one, which no longer works." if added.replaced else ""
    print(
        f"Broker account {added.username}: its password is below, shown this once; the "
        f"register keeps only its hash.{replaced}",
        file=sys.stderr,
    )
    print(added.password)
    return 0


def run_revoke(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with db.connect(settings) as conn, conn.transaction():
            ended = broker_accounts.revoke(conn, args.username, Actor.command_line().label)
    except broker_accounts.AccountError as error:
        print(f"lamplighter: {error}", file=sys.stderr)
        return 1
    if not ended:
        print(f"lamplighter: there is no working broker account {args.username!r}", file=sys.stderr)
        return 1
    print(f"{args.username}: revoked")
    return 0


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    with db.connect(settings) as conn:
        listed = broker_accounts.list_accounts(conn)
    for a in listed:
        ended = standing(a)
        topics = " ".join([f"read:{t}" for t in a["reads"]] + [f"write:{t}" for t in a["writes"]])
        print(f"{a['username']}\t{topics}\t{a['purpose']}\tmade by {a['created_by']}\t{ended}")
    if not listed:
        print("no broker accounts", file=sys.stderr)
    return 0
