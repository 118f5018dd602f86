"""`lamplighter devices import|export`: the register's devices as CSV, GeoJSON or JSON files
(and `devices credentials`, in `register.cli.credentials_cmd`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from register import exports, imports
from register.audit import Actor
from register.cli import credentials_cmd
from register.platform import db
from register.platform.config import Settings

MAX_PROBLEMS_SHOWN = 200


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("devices", help="import or export the register's devices")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    importing = actions.add_parser(
        "import", help="add or update devices from a .csv, .json or .geojson file (all or nothing)"
    )
    importing.add_argument("file", type=Path)
    importing.add_argument("--format", choices=imports.FORMATS, help="default: from the file name")
    importing.add_argument("--dry-run", action="store_true", help="check and report; store nothing")
    importing.set_defaults(run=run_import)
    exporting = actions.add_parser("export", help="write every device to standard output or a file")
    exporting.add_argument("--format", choices=exports.FORMATS, required=True)
    exporting.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    exporting.set_defaults(run=run_export)
    credentials_cmd.add_actions(actions)


def run_import(settings: Settings, args: argparse.Namespace) -> int:
    try:
        fmt = args.format or imports.format_of(args.file.name)
        text = args.file.read_text(encoding="utf-8-sig")
        entries = imports.read(text, fmt)
    except (OSError, UnicodeDecodeError) as error:
        print(f"lamplighter: cannot read {args.file}: {error}", file=sys.stderr)
        return 1
    except imports.UnreadableFile as error:
        print(f"lamplighter: {args.file}: {error}", file=sys.stderr)
        return 1
    with db.connect(settings) as conn:
        report = imports.import_entries(conn, entries, Actor.command_line(), dry_run=args.dry_run)
    if not report.ok:
        for problem in report.problems[:MAX_PROBLEMS_SHOWN]:
            print(f"{args.file}: {problem}", file=sys.stderr)
        hidden = len(report.problems) - MAX_PROBLEMS_SHOWN
        if hidden > 0:
            print(f"{args.file}: … and {hidden} more problems", file=sys.stderr)
        print(
            f"lamplighter: {len(report.problems)} problem(s) in {args.file}; nothing was imported",
            file=sys.stderr,
        )
        return 1
    verb = "would be" if args.dry_run else "were"
    print(
        f"{len(entries)} devices checked: {len(report.created)} {verb} created, "
        f"{len(report.updated)} {verb} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.others_unchanged)} of other organisations left alone"
        + (" (dry run: nothing stored)" if args.dry_run else "")
    )
    return 0


def run_export(settings: Settings, args: argparse.Namespace) -> int:
    with db.connect(settings) as conn:
        data = exports.build(conn, args.format)
    if args.output:
        args.output.write_bytes(data)
    else:
        sys.stdout.write(data.decode())
    return 0
