"""`/healthz`: whether the database and the broker answer; 200 when both do, else 503."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import psycopg
import psycopg_pool
from flask import Blueprint, current_app, jsonify
from werkzeug.wrappers import Response

from web import database, queries

blueprint = Blueprint("health", __name__)

# MQTT 3.1.1 CONNECT: clean session, no keep-alive, client id "lamplighter-health".
_CONNECT = bytes([0x10, 30, 0, 4]) + b"MQTT" + bytes([4, 0x02, 0, 0, 0, 18]) + b"lamplighter-health"
_DISCONNECT = bytes([0xE0, 0])
TIMEOUT = 2.0


def database_state() -> str:
    try:
        with database.connection(timeout=TIMEOUT) as conn:
            return "ok" if queries.database_answers(conn) else "not answering"
    except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
        return f"down: {type(error).__name__}"


def broker_state(url: str) -> str:
    """Connect to the broker and wait for its CONNACK: any answer means it is up."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 1883), TIMEOUT) as s:
            if parts.scheme == "mqtts":
                return "ok (port open; TLS not checked)"
            s.sendall(_CONNECT)
            s.settimeout(TIMEOUT)
            answer = s.recv(4)
            s.sendall(_DISCONNECT)
    except OSError as error:
        return f"down: {error.strerror or type(error).__name__}"
    return "ok" if answer[:1] == b"\x20" else "not answering MQTT"


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    started = time.perf_counter()
    settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    checks = {"database": database_state(), "broker": broker_state(settings.mqtt_url)}
    healthy = all(state.startswith("ok") for state in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        **checks,
        "checked_in_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return jsonify(body), 200 if healthy else 503
