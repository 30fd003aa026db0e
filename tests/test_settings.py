"""Start-up refuses malformed configuration and names the variable at fault."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dev import production_like_env

ROOT = Path(__file__).resolve().parent.parent


def start(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, "IGNORE_DOTENV": "1", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "notadb://x"),
        ("CELERY_BROKER_URL", "amqp-ish"),
        ("JUNCTION_BASE_URL", "api.us.junction.com"),
        ("PROVIDER_HTTP_READ_TIMEOUT", "soon"),
        ("RETURNHELPER_GROUP_MAX", "0"),
        ("RETURNHELPER_WEBHOOK_SIGNING_KEY", "not base64!"),
        ("JUNCTION_BATCH_SIZE", "101"),  # Junction takes at most 100 ids
        ("RATE_ARRIVAL_ALLOWANCE_SECONDS", "-0.5"),  # would let more than R through a second
        ("BULK_FAILURE_ALERT_RATE", "1.5"),  # would never warn
        ("CHARGEBEE_RATE_PER_SECOND", "-1"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(variable: str, value: str) -> None:
    result = start(**{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr


def test_production_requires_provider_secrets() -> None:
    result = start(DEBUG="0", SECRET_KEY="x" * 50, ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "JUNCTION_BASE_URL" in result.stderr


def test_the_default_configuration_starts() -> None:
    result = start()
    assert result.returncode == 0, result.stderr


def production(**changes: str) -> subprocess.CompletedProcess[str]:
    """Start with the production-like settings CI checks with --deploy, changed as given."""
    return start(**{**production_like_env(), **changes})


def test_the_production_like_configuration_starts() -> None:
    result = production()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CHARGEBEE_WEBHOOK_USERNAME", ""),
        ("CHARGEBEE_WEBHOOK_PASSWORD", "   "),
        ("RETURNHELPER_WEBHOOK_SIGNING_KEY", ""),  # also the base64 of nothing
        ("JUNCTION_WEBHOOK_SECRET", ""),
        ("JUNCTION_WEBHOOK_SECRET", "whsec_"),  # a prefix and nothing after it
        ("JUNCTION_WEBHOOK_SECRET", "whsec_not base64!"),
    ],
)
def test_production_refuses_a_blank_webhook_secret_naming_it(variable: str, value: str) -> None:
    result = production(**{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
