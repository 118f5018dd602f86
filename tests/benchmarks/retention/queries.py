"""The retention benchmark's SQL: its mixed retentions, its readings generated in the server, a
copy for the plain DELETE, and what the ingester's sessions wait for."""

from __future__ import annotations

from datetime import datetime

from register.queries import Conn

# Each metric's retention, by its id modulo 5: every device has four different ones.
RETENTIONS = ("1 day", "7 days", "30 days", "90 days", "1825 days")
LONGEST = "1825 days"


def mix_retentions(conn: Conn) -> None:
    """Give the metrics the mixed retentions, round the ids."""
    conn.execute(
        "UPDATE device_metrics SET retention = (%s::interval[])[1 + id %% 5]", (list(RETENTIONS),)
    )


def date_registration(conn: Conn, registered: datetime) -> None:
    """Make the devices registered and last changed at `registered` (before their readings)."""
    conn.execute("UPDATE devices SET created_at = %s, updated_at = %s", (registered, registered))


def skip_row_triggers(conn: Conn) -> bool:
    """Stop checking the foreign key row by row for this session (generated rows come from
    device_metrics itself); False when this role may not (it is not a superuser)."""
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not (row and row[0]):
        return False
    conn.execute("SET session_replication_role = replica")
    return True


def generate_readings(conn: Conn, now: datetime, *, step: int, span: int, long_span: int) -> int:
    """Readings every `step` seconds, oldest first as ingest would write them, for `span`
    seconds before `now` (`long_span` for the metrics kept 5 years, fitted later), each metric
    offset within the step. How many."""
    cursor = conn.execute(
        f"""
        INSERT INTO readings (time, device_id, metric_id, value)
        SELECT %(now)s::timestamptz
                   - make_interval(secs => (m.id * 7919) %% %(step)s + s * %(step)s),
               m.device_id, m.id, (m.id + s) %% 400 / 10.0
          FROM generate_series(%(span)s / %(step)s - 1, 0, -1) AS s
         CROSS JOIN LATERAL (
               SELECT id, device_id FROM device_metrics
                WHERE s < CASE WHEN retention = interval '{LONGEST}' THEN %(long_span)s
                               ELSE %(span)s END / %(step)s
               OFFSET 0) AS m
        """,
        {"now": now, "step": step, "span": span, "long_span": long_span},
    )
    return cursor.rowcount


def vacuum_analyze(conn: Conn, table: str) -> None:
    """VACUUM (ANALYZE) a table, as autovacuum would have by now (autocommit needed)."""
    conn.execute(f"VACUUM (ANALYZE) {table}")


def copy_readings(conn: Conn, copy: str, since: datetime, every: int, first: int) -> int:
    """A hypertable like readings holding the readings since `since` of every `every`th
    device, from the `first`; how many."""
    conn.execute(f"DROP TABLE IF EXISTS {copy}")
    conn.execute(f"CREATE TABLE {copy} (LIKE readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    conn.execute(
        f"SELECT create_hypertable('{copy}', 'time', chunk_time_interval => interval '1 day',"
        " create_default_indexes => false)"
    )
    conn.execute(f"CREATE UNIQUE INDEX ON {copy} (device_id, metric_id, time DESC)")
    cursor = conn.execute(
        f"INSERT INTO {copy} SELECT * FROM readings WHERE time >= %s AND device_id %% %s = %s",
        (since, every, first % every),
    )
    return cursor.rowcount


def delete_expired_from_copy(conn: Conn, copy: str, now: datetime) -> int:
    """One plain DELETE of every expired reading of a copy; how many went."""
    cursor = conn.execute(
        f"""
        DELETE FROM {copy} r USING device_metrics m
         WHERE m.id = r.metric_id
           AND r.time < %s::timestamptz
                        - make_interval(secs => extract(epoch FROM m.retention)::float8)
        """,
        (now,),
    )
    return cursor.rowcount


def drop_copy(conn: Conn, copy: str) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {copy}")


def list_lock_waits(conn: Conn, excluded: list[int]) -> list[tuple[int, float, str]]:
    """The client sessions of this database now waiting for a lock (but those `excluded`):
    pid, seconds waited so far, and what they wait for."""
    rows = conn.execute(
        """
        SELECT l.pid, extract(epoch FROM clock_timestamp() - min(l.waitstart))::float8,
               string_agg(DISTINCT coalesce(l.relation::regclass::text, l.locktype), ', ')
          FROM pg_locks l
          JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE NOT l.granted AND l.waitstart IS NOT NULL
           AND a.datname = current_database() AND a.backend_type = 'client backend'
           AND l.pid <> ALL (%s)
         GROUP BY l.pid
        """,
        (excluded,),
    ).fetchall()
    return [(pid, seconds, what) for pid, seconds, what in rows]
