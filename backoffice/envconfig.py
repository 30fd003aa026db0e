"""Strict readers for environment variables.

django-environ turns a malformed boolean into False and a malformed URL into something odd; a
back office that ships goods must refuse to start instead, naming the variable at fault.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Unset:
    """Marker for 'no default: the variable is required'."""


REQUIRED = Unset()


def _raw(name: str, default: Any) -> str | None:
    value = os.environ.get(name)
    if value is None:
        if isinstance(default, Unset):
            raise ImproperlyConfigured(f"Set the environment variable {name} (see .env.example).")
        return None
    return value.strip()


def env_str(name: str, default: str | Unset = REQUIRED) -> str:
    value = _raw(name, default)
    return default if value is None else value  # type: ignore[return-value]


def env_time_zone(name: str, default: str) -> str:
    """An IANA time zone name (Europe/Berlin, UTC) that this machine's zoneinfo knows."""
    import zoneinfo

    value = env_str(name, default) or default
    if value not in zoneinfo.available_timezones():
        raise ImproperlyConfigured(
            f"{name} must be an IANA time zone such as Europe/Berlin or UTC, not {value[:64]!r}."
        )
    return value


def env_secret(
    name: str,
    default: str | Unset = REQUIRED,
    *,
    decode: Callable[[str], bytes] | None = None,
    form: str = "",
) -> str:
    """A secret that must not be blank: a blank value counts as unset, so where there is no default
    (DEBUG off) start-up stops. With `decode` (base64 and the like), a value that does not decode
    stops start-up too, and one that decodes to nothing counts as blank."""
    value = _raw(name, default) or default
    if isinstance(value, Unset):
        raise ImproperlyConfigured(f"{name} is blank; set it (see .env.example).")
    if decode is not None:
        try:
            decoded = decode(value)
        except ValueError:  # binascii.Error included
            raise ImproperlyConfigured(f"{name} must be {form or 'encoded'}.") from None
        if not decoded:
            raise ImproperlyConfigured(f"{name} decodes to nothing; set the real secret.")
    return value


def env_bool(name: str, default: bool | Unset = REQUIRED) -> bool:
    value = _raw(name, default)
    if value is None:
        return bool(default)
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(
    name: str,
    default: int | Unset = REQUIRED,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    value = _raw(name, default)
    if value is None:
        return int(default)  # type: ignore[arg-type]
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    return _within(name, number, minimum, maximum)


def env_float(
    name: str,
    default: float | Unset = REQUIRED,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    value = _raw(name, default)
    if value is None:
        return float(default)  # type: ignore[arg-type]
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None
    return _within(name, number, minimum, maximum)


N = TypeVar("N", int, float)


def _within(name: str, number: N, minimum: N | None, maximum: N | None) -> N:
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {number}.")
    return number


def env_list(name: str, default: list[str] | Unset = REQUIRED) -> list[str]:
    value = _raw(name, default)
    if value is None:
        return list(default)  # type: ignore[arg-type]
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str | Unset = REQUIRED, *, schemes: tuple[str, ...] = ()) -> str:
    value = env_str(name, default)
    parts = urlsplit(value)
    allowed = schemes or ("http", "https")
    web = parts.scheme in ("http", "https")
    if parts.scheme not in allowed or (web and not parts.netloc):
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in allowed)}"
            f", not {value!r}."
        )
    return value.rstrip("/") if web else value


def env_db(name: str, default: str) -> dict[str, Any]:
    value = env_str(name, default)
    try:
        config = environ.Env.db_url_config(value)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise ImproperlyConfigured(f"{name} is not a database URL: {exc}") from None
    if not str(config.get("ENGINE", "")).startswith("django.db.backends."):
        raise ImproperlyConfigured(f"{name} names an unknown database scheme: {value!r}.")
    return config


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def env_email(name: str, default: str) -> dict[str, Any]:
    """Django's EMAIL_* settings from one URL (django-environ's email_url)."""
    value = env_str(name, default)
    try:
        config = environ.Env.email_url_config(value)
    except Exception:  # an unknown scheme, a port that is not a number
        raise ImproperlyConfigured(
            f"{name} must be an email URL such as consolemail:// or "
            "smtp+tls://user:password@host:587."
        ) from None
    if config["EMAIL_BACKEND"].endswith("smtp.EmailBackend") and not config.get("EMAIL_HOST"):
        raise ImproperlyConfigured(f"{name} names no SMTP host.")
    return config
