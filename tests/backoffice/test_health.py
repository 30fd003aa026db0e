"""/healthz and /readyz: no sign-in, no HTTPS redirect, and /readyz names what is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from .helpers import closed_port


def beat_ticked(seconds_ago: float) -> None:
    """What beat writes when it sends an entry (django-celery-beat's last_run_at)."""
    every, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="sweep-provider-calls",
        defaults={
            "task": "resends.tasks.sweep_calls",
            "interval": every,
            "last_run_at": timezone.now() - timedelta(seconds=seconds_ago),
        },
    )


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No database fixture: pytest-django fails any query this request would make.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_probes_skip_the_https_redirect_and_the_sign_in(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SECURE_SSL_REDIRECT = True
    beat_ticked(5)
    assert client.get("/resends/").status_code == 301  # the redirect is on for the console
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()


@pytest.mark.django_db
def test_readyz_is_200_with_every_check_when_all_is_well(client: Client) -> None:
    beat_ticked(5)
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["down"] == []
    assert {"database", "broker", "migrations", "beat"} <= set(body["checks"])
    assert all(check["ok"] for check in body["checks"].values())
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readyz_is_503_naming_redis_while_the_broker_is_unreachable(
    client: Client, settings, caplog
) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(5)
    port = closed_port()
    settings.CELERY_BROKER_URL = settings.REDIS_URL = f"redis://:s3cret-pass@127.0.0.1:{port}/0"
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down" and body["down"] == ["broker"]
    detail = body["checks"]["broker"]["detail"]
    assert f"Redis at 127.0.0.1:{port} unreachable" in detail
    assert "s3cret-pass" not in response.content.decode()
    assert body["checks"]["database"]["ok"] and body["checks"]["beat"]["ok"]
    # One warning naming it; not a server error per probe (which Sentry would count).
    assert [r.levelname for r in caplog.records if "not ready" in r.getMessage()] == ["WARNING"]
    assert not [r for r in caplog.records if r.name == "django.request"]


@pytest.mark.django_db
def test_readyz_names_a_silent_beat_and_unapplied_migrations(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/readyz").json()
    assert "beat" in body["down"] and body["checks"]["beat"]["detail"] == "beat has never run"

    beat_ticked(settings.BEAT_STALE_SECONDS + 10)
    newest = MigrationRecorder.Migration.objects.filter(app="resends").latest("id")
    newest.delete()  # rolled back with the test's transaction
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["down"] == ["migrations", "beat"]
    assert f"resends.{newest.name}" in body["checks"]["migrations"]["detail"]
    assert "last tick" in body["checks"]["beat"]["detail"]
