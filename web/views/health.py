"""`/healthz`: whether the database and the broker answer; 200 when both do, else 503."""

from __future__ import annotations

import time
import uuid

import psycopg
import psycopg_pool
from flask import Blueprint, current_app, jsonify
from werkzeug.wrappers import Response

from register.platform import broker as mqtt_broker
from register.platform.config import Settings
from web import database, queries

blueprint = Blueprint("health", __name__)

TIMEOUT = 2.0


def database_state() -> str:
    try:
        with database.connection(timeout=TIMEOUT) as conn:
            return "ok" if queries.database_answers(conn) else "not answering"
    except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
        return f"down: {type(error).__name__}"


def broker_state(settings: Settings) -> str:
    """Connect as the ingester would (TLS, credentials, protocol) and wait for the CONNACK.

    "ok" only when the broker accepts the connection: one that refuses it (bad credentials,
    not authorised) is down, with its reason.
    """
    broker = mqtt_broker.broker_for(settings)
    # A client id of its own, so that two health checks at once do not take over each other.
    client_id = f"lamplighter-health-{uuid.uuid4().hex[:8]}"
    client = mqtt_broker.new_client(settings, broker, client_id)
    try:
        mqtt_broker.connect(client, broker, timeout=TIMEOUT)
    except OSError as error:  # BrokerRefused, TimeoutError and ssl.SSLError among them
        return f"down: {mqtt_broker.describe(error, broker)}"
    mqtt_broker.close(client)
    return "ok"


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    started = time.perf_counter()
    settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    checks = {"database": database_state(), "broker": broker_state(settings)}
    healthy = all(state.startswith("ok") for state in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        **checks,
        "checked_in_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return jsonify(body), 200 if healthy else 503
