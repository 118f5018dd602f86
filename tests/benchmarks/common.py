"""What every `lamplighter bench NAME` shares: the local services, a database of its own, and a
table of figures.

A benchmark runs on the local services (started here when nothing is configured, and stopped
again only if started here), in the database `lamplighter_bench`, dropped and created afresh
with every migration applied, so a run never touches the register in use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from register.platform import db
from register.platform import queries as migration_queries
from register.platform.config import Settings
from register.stack import embedded

BENCH_DATABASE = "lamplighter_bench"
# The checkout's top folder, where `python -m tests.benchmarks…` children must start.
CHECKOUT = Path(__file__).resolve().parents[2]
HEADINGS = ("path", "figure", "note")


@dataclasses.dataclass
class Figures:
    """The rows of a benchmark's table, printed as they come and as one table at the end."""

    rows: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    def add(self, path: str, figure: str, note: str = "") -> None:
        self.rows.append((path, figure, note))
        print(f"  {path}: {figure} {note}".rstrip(), flush=True)  # noqa: T201 - progress

    def table(self) -> str:
        widths = [max(len(r[i]) for r in [HEADINGS, *self.rows]) for i in range(3)]
        lines = [" | ".join(h.ljust(w) for h, w in zip(HEADINGS, widths, strict=True))]
        lines.append("-|-".join("-" * w for w in widths))
        lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in self.rows]
        return "\n".join(lines)


def local_services(settings: Settings) -> AbstractContextManager[None]:
    """The embedded services up for a benchmark, when nothing else is configured."""
    return embedded.running(settings)


def bench_database_url(settings: Settings) -> str:
    """The URL of the benchmark database on the configured server."""
    parts = urlsplit(settings.database_url)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def fresh_bench_database(settings: Settings) -> Settings:
    """Drop and create the benchmark database, apply the migrations; settings pointing at it."""
    with db.connect(settings, autocommit=True) as admin:
        migration_queries.drop_database(admin, BENCH_DATABASE)
        migration_queries.create_database(admin, BENCH_DATABASE, admin.info.user)
    bench = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=bench_database_url(settings))
    )
    with db.connect(bench) as conn:
        list(db.upgrade(conn))
    return bench


def quantile(samples: Sequence[float], q: float) -> float:
    """The q-quantile of some samples (the nearest-rank method), e.g. q=0.95 for p95."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def histogram_quantile(cumulative: dict[str, float], q: float) -> float:
    """The q-quantile of samples known only as a Prometheus histogram's cumulative bucket
    counts (bucket bound -> count), interpolated within its bucket, as PromQL does."""
    bounds = sorted((float(b), c) for b, c in cumulative.items())
    total = bounds[-1][1]
    wanted = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in bounds:
        if count >= wanted:
            if bound == float("inf"):
                return lower_bound
            share = (wanted - lower_count) / (count - lower_count) if count > lower_count else 1
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound
