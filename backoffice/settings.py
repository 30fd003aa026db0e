"""Settings for the resend back office. Every value comes from the environment (.env.example)."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import TypedDict

from django.core.exceptions import ImproperlyConfigured

from .envconfig import (
    Unset,
    ensure_dir,
    env_bool,
    env_db,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = ensure_dir(Path(env_str("VAR_DIR", str(BASE_DIR / "var"))))

if (BASE_DIR / ".env").exists() and not os.environ.get("IGNORE_DOTENV"):
    import environ

    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-key-only-for-debug" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY (a long random string) when DEBUG is off.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The URL this application is reached at; webhook signatures are computed over it.
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "resends",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env_db("DATABASE_URL", f"sqlite:///{VAR_DIR / 'backoffice.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a real worker process in the tests sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # WAL and a busy timeout let web, worker and beat share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
# Idle sessions expire: every request pushes the expiry forward.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 60 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production values; `manage.py check --deploy` runs in CI) -----------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 60 * 60 * 24 * 30, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = ["security.W021"]  # HSTS preload is a per-domain decision.

# --- Email (job notifications) ----------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "resends@backoffice.invalid")

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", "filesystem://", schemes=("filesystem", "redis", "rediss", "memory")
)
REDIS_URL = env_str("REDIS_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
if CELERY_BROKER_URL.startswith("filesystem"):
    _queue_dir = ensure_dir(VAR_DIR / "celery" / "queue")
    ensure_dir(VAR_DIR / "celery" / "processed")
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(ensure_dir(VAR_DIR / "celery" / "control")),
        "store_processed": False,
    }
else:
    # Long waits live in the call row (next_attempt_at); countdowns stay far below this.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Providers ----------------------------------------------------------------------------------
# Defaults point at the local sandbox (`python -m sandbox`) only while DEBUG is on; in production
# every URL and secret must be set explicitly.
# `dev.py run` starts the sandbox on SANDBOX_PORT (and `python -m sandbox` reads it too).
SANDBOX_URL = f"http://127.0.0.1:{env_int('SANDBOX_PORT', 8765, minimum=1, maximum=65535)}"


def _dev(value: str) -> str | Unset:
    from .envconfig import REQUIRED

    return value if DEBUG else REQUIRED


def _b64_key(name: str, value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{name} must be base64 (as Return Helper shows it).") from None
    return value


# A claimed call is another worker's to take over after this long (must exceed the HTTP timeouts).
CALL_LEASE_SECONDS = env_int("CALL_LEASE_SECONDS", 120, minimum=2)
# The sweeper leaves a just-queued pending call alone for this long.
SWEEP_GRACE_SECONDS = env_int("SWEEP_GRACE_SECONDS", 20, minimum=0)
PROVIDER_HTTP_CONNECT_TIMEOUT = env_float("PROVIDER_HTTP_CONNECT_TIMEOUT", 5.0)
PROVIDER_HTTP_READ_TIMEOUT = env_float("PROVIDER_HTTP_READ_TIMEOUT", 20.0)

# One request budget per provider account, shared by every worker (requests per second). Override
# one account with <ENV_PREFIX>_RATE_PER_SECOND (e.g. CHARGEBEE_EU_RATE_PER_SECOND).
RATE_PER_SECOND = {
    "junction": env_float("JUNCTION_RATE_PER_SECOND", 10.0, minimum=0),
    "chargebee": env_float("CHARGEBEE_RATE_PER_SECOND", 5.0, minimum=0),
    "returnhelper": env_float("RETURNHELPER_RATE_PER_SECOND", 5.0, minimum=0),
}
# How much the time from our departure gate to the provider may vary (seconds): departures are
# counted over one second plus this, so the provider never sees more than the rate in any second.
RATE_ARRIVAL_ALLOWANCE_SECONDS = env_float("RATE_ARRIVAL_ALLOWANCE_SECONDS", 0.03, minimum=0)

# A bulk job making more provider requests than this waits for a second manager's approval.
BULK_APPROVAL_THRESHOLD = env_int("BULK_APPROVAL_THRESHOLD", 100, minimum=0)
# Resends of one bulk job in progress at once (bounds memory and queue depth).
BULK_WINDOW = env_int("BULK_WINDOW", 50, minimum=1)
# The submitter of a bulk job is emailed when it ends, and once if this share of its finished
# items has failed (after at least BULK_FAILURE_ALERT_MIN_ITEMS).
BULK_FAILURE_ALERT_RATE = env_float("BULK_FAILURE_ALERT_RATE", 0.2, minimum=0, maximum=1)
BULK_FAILURE_ALERT_MIN_ITEMS = env_int("BULK_FAILURE_ALERT_MIN_ITEMS", 20, minimum=1)


class JunctionSettings(TypedDict):
    batch_size: int
    base_url: str
    api_key: str
    webhook_secret: str


class ChargebeeSettings(TypedDict):
    site: str
    base_url: str
    api_key: str
    webhook_username: str
    webhook_password: str
    reason_codes: list[str]
    reason_mandatory: bool


class ReturnHelperSettings(TypedDict):
    base_url: str
    public_base_url: str
    api_key: str
    api_token: str
    webhook_signing_key: str
    group_max: int


JUNCTION: JunctionSettings = {
    # Order ids per resend_events request (bulk jobs and the console; at most 100).
    "batch_size": env_int("JUNCTION_BATCH_SIZE", 100, minimum=1, maximum=100),  # Junction's max
    "base_url": env_url("JUNCTION_BASE_URL", _dev(f"{SANDBOX_URL}/junction")),
    "api_key": env_str("JUNCTION_API_KEY", _dev("sk_us_sandbox_key")),
    "webhook_secret": env_str(
        "JUNCTION_WEBHOOK_SECRET",
        _dev("whsec_" + base64.b64encode(b"sandbox-junction-webhook-secret-32b").decode()),
    ),
}
_chargebee_site = env_str("CHARGEBEE_SITE", "sandbox-test")
CHARGEBEE: ChargebeeSettings = {
    "site": _chargebee_site,
    "base_url": env_url(
        "CHARGEBEE_BASE_URL",
        f"{SANDBOX_URL}/chargebee" if DEBUG else f"https://{_chargebee_site}.chargebee.com",
    ),
    "api_key": env_str("CHARGEBEE_API_KEY", _dev("test_sandbox_key")),
    "webhook_username": env_str("CHARGEBEE_WEBHOOK_USERNAME", _dev("chargebee")),
    "webhook_password": env_str("CHARGEBEE_WEBHOOK_PASSWORD", _dev("sandbox-webhook-password")),
    "reason_codes": env_list(
        "CHARGEBEE_RESEND_REASON_CODES",
        ["Damaged", "Lost in Transit", "Wrong Item", "Missing Item", "Quality Issue"],
    ),
    "reason_mandatory": env_bool("CHARGEBEE_RESEND_REASON_MANDATORY", False),
}
RETURNHELPER: ReturnHelperSettings = {
    "base_url": env_url(
        "RETURNHELPER_BASE_URL",
        _dev(f"{SANDBOX_URL}/returnhelper/user/api"),
    ),
    "public_base_url": env_url(
        "RETURNHELPER_PUBLIC_BASE_URL",
        _dev(f"{SANDBOX_URL}/returnhelper/public/api"),
    ),
    "api_key": env_str("RETURNHELPER_API_KEY", _dev("rh_sandbox_key")),
    "api_token": env_str("RETURNHELPER_API_TOKEN", _dev("rh_sandbox_token")),
    "webhook_signing_key": _b64_key(
        "RETURNHELPER_WEBHOOK_SIGNING_KEY",
        env_str(
            "RETURNHELPER_WEBHOOK_SIGNING_KEY",
            _dev(base64.b64encode(b"sandbox-returnhelper-signing-key").decode()),
        ),
    ),
    "group_max": env_int("RETURNHELPER_GROUP_MAX", 5, minimum=1),
}
# Values that must never reach a log line, a page or the audit trail.
SECRET_VALUES = tuple(
    value
    for value in (
        SECRET_KEY,
        JUNCTION["api_key"],
        JUNCTION["webhook_secret"],
        CHARGEBEE["api_key"],
        CHARGEBEE["webhook_password"],
        RETURNHELPER["api_key"],
        RETURNHELPER["api_token"],
        RETURNHELPER["webhook_signing_key"],
    )
    if value
)

# --- Logging: one line per event, secrets scrubbed by a filter --------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "resends.redaction.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

CELERY_BEAT_SCHEDULE = {
    # Repairs lost queue messages, expired leases and finished waits (resends/engine/sweeper.py).
    "sweep-provider-calls": {"task": "resends.tasks.sweep_calls", "schedule": 30.0},
    "sync-order-mirrors": {"task": "resends.tasks.sync_mirrors", "schedule": 300.0},
    # Re-rings running bulk jobs whose own advance message was lost.
    "sweep-bulk-jobs": {"task": "resends.tasks.sweep_bulk_jobs", "schedule": 30.0},
}
