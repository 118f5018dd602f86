"""schemathesis drives API v1 from its own OpenAPI document, with valid and invalid parameters,
and checks every answer: never a 500, always a documented status and content type, and a body
the schema allows (schemathesis's default checks).

Examples are bounded (MAX_EXAMPLES per operation and mode), so the run stays short in `make test`.
Each operation is a hypothesis test of its own, drawn from `as_strategy`: the pytest-9 release
removed a node attribute that schemathesis's fixture-based loader still sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from register import devices
from register.accounts import api_tokens
from register.audit import Actor
from register.platform import db
from register.platform.config import Settings
from tests.conftest import database_of_its_own
from tests.register.factories import add_device
from tests.web.samples import add_camera
from web.app import create_app
from web.database import EXTENSION

MAX_EXAMPLES = 50
# Rules across parameters that JSON Schema cannot say (radius only with near, south not above
# north, start before end, at most 10,000 buckets) make some schema-valid requests a 400; so for
# these two, the check that schema-valid requests are accepted is left out. Every other check
# still runs on them.
CROSS_PARAMETER_RULES = ("/api/v1/devices", "/api/v1/devices/{public_id}/readings")
# The writes leave that check out too: a schema-valid entry still names DTPR terms and SenML
# units the register checks against its vocabularies, and a schema-valid If-Match names no
# version of the device, so such requests are rightly 422 or 412.
# A change is checked against its If-Match before its body is read (RFC 9110 13.2.1: preconditions
# before the request's content), so an invalid body sent with a stale If-Match is rightly a 412:
# schemathesis's own list of statuses that reject invalid data, and 412.
REJECTING = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429"]
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [*REJECTING, "5xx"]}}}
)
OPERATIONS = (
    ("/api/v1/devices", "GET"),
    ("/api/v1/devices", "POST"),
    ("/api/v1/devices/import", "POST"),
    ("/api/v1/devices/{public_id}", "GET"),
    ("/api/v1/devices/{public_id}", "PATCH"),
    ("/api/v1/devices/{public_id}", "DELETE"),
    ("/api/v1/devices/{public_id}/credential", "POST"),
    ("/api/v1/devices/{public_id}/credential", "GET"),
    ("/api/v1/devices/{public_id}/credential", "DELETE"),
    ("/api/v1/devices/{public_id}/entry", "GET"),
    ("/api/v1/devices/{public_id}/history", "GET"),
    ("/api/v1/devices/{public_id}/readings", "GET"),
    ("/api/v1/organisations", "GET"),
    ("/api/v1/organisations/{slug}", "GET"),
    ("/api/v1/vocabularies", "GET"),
    ("/api/v1/vocabularies/{category}", "GET"),
)
PATHS = sorted({path for path, _ in OPERATIONS})


@pytest.fixture(scope="module")
def register(settings: Settings, migrated_template: str) -> Iterator[Settings]:
    """A small register, with readings so the readings endpoint has answers, in a migrated
    database of this module's own. The module's tests share it: setting it up for each of them
    cost more than most of them take. Writes to it are all but always refused (random entries
    name no DTPR term, random If-Match headers no device's version), and every GET check holds
    of any register."""
    with database_of_its_own(settings, migrated_template) as register:
        with db.connect(register) as conn, conn.transaction():
            add_device(conn, "camden-aq-0001")
            add_device(conn, "camden-aq-0002", place="lamp post 43, Camden High Street")
            add_camera(conn)
            add_device(conn, "hackney-aq-0001", organisation="hackney", place="Mare Street")
            conn.execute(
                """INSERT INTO readings (time, device_id, metric_id, value)
                   SELECT %s - g * interval '7 minutes', m.device_id, m.id, g
                     FROM device_metrics m, generate_series(0, 400) g""",
                (datetime.now(UTC),),
            )
        yield register


@pytest.fixture(scope="module")
def api_token(register: Settings) -> str:
    """A real API token of Camden, made in the register's database."""
    with db.connect(register) as conn, conn.transaction():
        _, secret = api_tokens.create(
            conn, organisation="camden", name="schemathesis", made_by=Actor.command_line()
        )
    return secret


@pytest.fixture(scope="module")
def api_schema(register: Settings) -> Iterator[schemathesis.BaseSchema]:
    app = create_app(register)
    app.config["TESTING"] = True
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    finally:
        app.extensions[EXTENSION].close()


def test_every_operation_is_driven(api_schema: schemathesis.BaseSchema) -> None:
    found = sorted((op.ok().path, op.ok().method.upper()) for op in api_schema.get_all_operations())
    assert found == sorted(OPERATIONS)


# Operations without parameters or a body have no invalid requests to make.
WITHOUT_PARAMETERS = ("/api/v1/organisations", "/api/v1/vocabularies")
RUNS = [(path, method, GenerationMode.POSITIVE) for path, method in OPERATIONS] + [
    (path, method, GenerationMode.NEGATIVE)
    for path, method in OPERATIONS
    if path not in WITHOUT_PARAMETERS
]


# Where every other valid write is aimed: a device of the token's organisation each (a
# decommissioned device's entry cannot change, so DELETE has one of its own).
AIMED_AT = {"PATCH": "camden-aq-0001", "DELETE": "camden-aq-0002"}
# A device's credential needs the token to be read too; it is aimed at a device that is never
# decommissioned, and names no version of its entry.
CREDENTIAL = "/api/v1/devices/{public_id}/credential"
Headers = Callable[[schemathesis.Case, bool], dict[str, str]]


@pytest.fixture(scope="module")
def write_headers(register: Settings, api_token: str) -> Headers:
    """The headers a write is sent with: the token (schemathesis's `ignored_auth` check sends it
    without), and, when aimed, the If-Match of a device of the token's organisation.

    An aimed write goes to that device, or names that organisation in its entry: random
    requests would otherwise almost all stop at 404, 412 or 403, before the body is checked
    against the register and before any write succeeds."""

    def headers(case: schemathesis.Case, aimed: bool) -> dict[str, str]:
        sent = {"Authorization": f"Bearer {api_token}"}
        if not aimed:
            return sent
        if case.operation.path == CREDENTIAL:
            case.path_parameters = {**(case.path_parameters or {}), "public_id": "camden-aq-0001"}
            return sent
        if case.method == "POST":
            if isinstance(case.body, dict) and "organisation" in case.body:
                case.body["organisation"] = "camden"
            return sent
        public_id = AIMED_AT[case.method]
        case.path_parameters = {**(case.path_parameters or {}), "public_id": public_id}
        with db.connect(register) as conn:
            entry = devices.get_device(conn, public_id)
        assert entry is not None
        return {**sent, "If-Match": f'"{devices.version_of(entry)}"'}

    return headers


@pytest.mark.parametrize(("path", "method", "mode"), RUNS)
def test_the_api_keeps_to_its_document(
    api_schema: schemathesis.BaseSchema,
    write_headers: Headers,
    path: str,
    method: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    writes = method != "GET" or path == CREDENTIAL  # sent with the token
    excluded = [positive_data_acceptance] if path in CROSS_PARAMETER_RULES or writes else []
    answered: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: schemathesis.Case) -> None:
        aimed = mode is GenerationMode.POSITIVE and len(answered) % 2 == 1
        headers = write_headers(case, aimed) if writes else {}
        answer = case.call_and_validate(headers=headers, excluded_checks=excluded)
        answered.append(answer.status_code)

    check()
    assert answered
    assert 500 not in answered
    if writes:  # the token got past the door: answers other than 401 came back
        assert set(answered) - {401}
