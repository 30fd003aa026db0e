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
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "LOUD"),
        ("EMAIL_URL", "pigeon://coop"),
        ("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"),  # now EMAIL_URL
        ("BEAT_STALE_SECONDS", "10"),  # shorter than the sweeper's 30 s: always "down"
        ("METRICS_TOKEN", "short"),  # a guessable token
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


def show(*names: str, **env: str) -> dict[str, str]:
    dropped = ("VAR_DIR", "IGNORE_DOTENV", "DATABASE_URL", *env)  # the default database is shown
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    code = "from django.conf import settings\n" + "".join(
        f"print('{name}=' + str(settings.{name}))\n" for name in names
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**clean, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def test_var_dir_set_in_the_env_file_is_used(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env_file = tmp_path / "backoffice.env"
    env_file.write_text(f"VAR_DIR={state}\nLOG_FORMAT=json\n")
    shown = show("VAR_DIR", "DATABASES", ENV_FILE=str(env_file))
    assert shown["VAR_DIR"] == str(state) and state.is_dir()
    assert str(state / "backoffice.sqlite3") in shown["DATABASES"]  # the default database too
    # The process environment wins over the file.
    other = tmp_path / "other"
    assert show("VAR_DIR", ENV_FILE=str(env_file), VAR_DIR=str(other))["VAR_DIR"] == str(other)


def test_smtp_comes_from_one_email_url_and_its_password_is_masked() -> None:
    shown = show(
        "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_USE_TLS",
        "EMAIL_TIMEOUT", "SECRET_VALUES",
        IGNORE_DOTENV="1",
        EMAIL_URL="smtp+tls://resends%40example.com:mail-pass-9@smtp.example.com:587",
    )  # fmt: skip
    assert shown["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (shown["EMAIL_HOST"], shown["EMAIL_PORT"]) == ("smtp.example.com", "587")
    assert (shown["EMAIL_HOST_USER"], shown["EMAIL_USE_TLS"]) == ("resends@example.com", "True")
    assert shown["EMAIL_TIMEOUT"] == "10"
    assert "mail-pass-9" in shown["SECRET_VALUES"]
    default = show("EMAIL_BACKEND", IGNORE_DOTENV="1")
    assert default["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


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
