"""Publishing for the simulator and the tests: the settings' credentials, every message acked."""

from __future__ import annotations

import pytest

from ingest.publisher import Publisher, PublishError
from register.platform.config import Settings
from tests.conftest import PasswordBroker
from tests.ingest.conftest import publish, received_by, wait_until


def test_publish_logs_in_with_the_settings_credentials(
    settings: Settings, password_broker: PasswordBroker, prefix: str
) -> None:
    logged_in = password_broker.settings(
        settings, password_broker.username, password_broker.password
    )
    messages = [(f"{prefix}/lamplighter/camden/aq-{n % 7}/up", b"%d" % n) for n in range(3000)]
    with received_by(password_broker, f"{prefix}/#") as received:
        publish(logged_in, messages)
        wait_until(lambda: len(received) >= len(messages), what="every message")
    assert sorted(received) == sorted(payload for _, payload in messages)


def test_every_message_is_acknowledged_past_the_65535_packet_ids(
    settings: Settings, password_broker: PasswordBroker, prefix: str
) -> None:
    logged_in = password_broker.settings(
        settings, password_broker.username, password_broker.password
    )
    total = 70_000
    with received_by(password_broker, f"{prefix}/#") as received:
        with Publisher(logged_in, f"pub-{prefix}") as publisher:
            publisher.publish((f"{prefix}/load", b"%d" % n) for n in range(total))
            assert publisher.wait_acked(60)
            assert publisher.acked == total
        wait_until(lambda: len(received) >= total, what="every message")
    assert len(set(received)) == total


def test_a_refused_connection_is_an_error_naming_the_reason(
    settings: Settings, password_broker: PasswordBroker
) -> None:
    wrong = password_broker.settings(settings, password_broker.username, "wrong")
    with pytest.raises(PublishError) as refused:
        Publisher(wrong, "pub-wrong-password")
    assert str(refused.value) == (
        f"cannot publish to {password_broker.url}: refused by the broker: not authorized"
    )
