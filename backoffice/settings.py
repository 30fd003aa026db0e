"""Settings for the resend back office. Every value comes from the environment (.env.example)."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from .envconfig import (
    Unset,
    ensure_dir,
    env_bool,
    env_db,
    env_email,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_time_zone,
    env_url,
)
from .logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

# The .env file first, so that every variable below (VAR_DIR too) may come from it. The process
# environment wins over the file; ENV_FILE names another file (e.g. /etc/backoffice.env).
_env_file = Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env")
if _env_file.exists() and not os.environ.get("IGNORE_DOTENV"):
    import environ

    environ.Env.read_env(_env_file, overwrite=False)

VAR_DIR = ensure_dir(Path(env_str("VAR_DIR", str(BASE_DIR / "var"))))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-key-only-for-debug" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY (a long random string) when DEBUG is off.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The URL this application is reached at; webhook signatures are computed over it.
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "backoffice.apps.BackofficeAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "csp",
    "axes",
    "resends",
    "django.forms",  # its widget templates, for FORM_RENDERER below
]

MIDDLEWARE = [
    "backoffice.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "backoffice.middleware.PermissionsPolicyMiddleware",
    "backoffice.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After sign-in: times on every page and in the admin in the staff member's own zone.
    "resends.middleware.StaffTimeZoneMiddleware",
    # Last: turns a sign-in refused for too many failures into the "locked out" page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

# Widgets render through TEMPLATES, so templates/ may override one (the admin's split date and
# time boxes get labels: templates/admin/widgets/split_datetime.html).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
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
                "resends.context_processors.time_zone",
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
# Sign-in throttling (django-axes): after LOGIN_FAILURE_LIMIT failures within
# LOGIN_LOCKOUT_MINUTES, for one user name or from one client address (each counted on its own),
# sign-in is refused with the page templates/registration/locked_out.html (429) until the
# failures are that old or a manager unlocks them (admin "Access attempts", or
# `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`). Failures are not forgotten on
# success: one account's good password would otherwise wipe the address's count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_DISABLE_ACCESS_LOG = True  # the failures are what matter; no row for every sign-in
AXES_ENABLE_ADMIN = False  # resends/admin/logins.py registers the attempts, with bounded lists
AXES_CLIENT_IP_CALLABLE = "backoffice.throttling.client_ip"
AXES_USERNAME_FORM_FIELD = "username"  # the sign-in forms' field (read by throttling.py too)
AXES_USERNAME_CALLABLE = "backoffice.throttling.attempted_username"
AXES_VERBOSE = False  # no start-up banner in every process; failures and lockouts still log
# Proxies in front of the web process that append to X-Forwarded-For (backoffice/throttling.py).
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0 if DEBUG else 1, minimum=0)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
# Idle sessions expire: every request pushes the expiry forward.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 60 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True

LANGUAGE_CODE = "en-us"
# Stored, sent to providers and used by the workers: UTC. What a person sees and types is in their
# own zone (resends.StaffProfile, set on the console's "Time zone" page or by a manager in the
# admin), or STAFF_TIME_ZONE for anyone who has not chosen one (resends/middleware.py).
TIME_ZONE = "UTC"
STAFF_TIME_ZONE = env_time_zone("STAFF_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Dates and times in 24-hour form with the zone ("2026-12-02 14:05 CET"), the admin's too:
# backoffice/formats/en/formats.py overrides the en locale's 12-hour formats.
FORMAT_MODULE_PATH = ["backoffice.formats"]

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
# Probes speak plain HTTP to the process, not through the TLS proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 60 * 60 * 24 * 30, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = ["security.W021"]  # HSTS preload is a per-domain decision.
# Content-Security-Policy (django-csp) on every response: everything is served from here (htmx is
# bundled, charts are server-drawn SVG), so nothing inline and nothing from elsewhere. Templates
# carry no <script> or <style> blocks, style or on* attributes (tests/test_security_headers.py
# reads every page for them; the browser tests fail on any violation).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
# Powerful browser features, none of which the back office uses, are off for it and anything it
# might embed (backoffice/middleware.py).
PERMISSIONS_POLICY = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "publickey-credentials-get",
    "screen-wake-lock",
    "usb",
    "xr-spatial-tracking",
)

# --- Email (job notifications) ----------------------------------------------------------------
# One URL: consolemail:// (the default), smtp://user:password@host:25, smtp+tls://…:587,
# smtp+ssl://…:465 (django-environ's email_url; percent-encode an @ in the user name).
if "EMAIL_BACKEND" in os.environ:
    raise ImproperlyConfigured("EMAIL_BACKEND is replaced by EMAIL_URL (see .env.example).")
_email = env_email("EMAIL_URL", "consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)  # seconds; Django's default never ends
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
# Beat writes each entry's last_run_at after every send (not every 3 minutes): /readyz reads it.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_TIMEZONE = "UTC"
# A worker process is replaced after this many tasks (bounds what a slow leak can grow to).
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("CELERY_MAX_TASKS_PER_CHILD", 1000, minimum=1)
# Task events, so that Flower (or `celery events`) can follow every task.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
# Our logging stays in place in workers and beat (backoffice/celery.py answers setup_logging).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Queues, so that a backfill or a slow sync never delays an agent's resend. A worker started
# without -Q consumes all of them (the demo and the tests); production runs a worker group per
# queue (Procfile). `execute_call` has no fixed route: the doorbell (resends/doorbell.py) sends
# each call to CALL_QUEUES[lane]; a call in a BULK_CHANNELS request goes to "bulk". A bulk job's
# steps have a queue of their own, which the bulk workers also consume: in "bulk" a step would
# wait behind the whole window's batches (a list is first in, first out), and the window would
# drain before the step that tops it up came round.
CALLS_QUEUE, BULK_QUEUE, BULK_STEPS_QUEUE, MAINTENANCE_QUEUE = (
    "calls",
    "bulk",
    "bulk_steps",
    "maintenance",
)
CALL_QUEUES = {"single": CALLS_QUEUE, "bulk": BULK_QUEUE}
CELERY_TASK_DEFAULT_QUEUE = CALLS_QUEUE
CELERY_TASK_QUEUES = [
    Queue(name, routing_key=name)
    for name in (CALLS_QUEUE, BULK_QUEUE, BULK_STEPS_QUEUE, MAINTENANCE_QUEUE)
]
CELERY_IMPORTS = ["backoffice.maintenance"]  # tasks outside the resends app
CELERY_TASK_ROUTES = {
    "resends.tasks.advance_bulk_job": {"queue": BULK_STEPS_QUEUE},
    "resends.tasks.sweep_calls": {"queue": MAINTENANCE_QUEUE},
    "resends.tasks.sweep_bulk_jobs": {"queue": MAINTENANCE_QUEUE},
    "resends.tasks.send_review_notice": {"queue": MAINTENANCE_QUEUE},
    "resends.tasks.sync_mirrors": {"queue": MAINTENANCE_QUEUE},
    "resends.tasks.run_scheduled_replay": {"queue": MAINTENANCE_QUEUE},
    "backoffice.clear_sessions": {"queue": MAINTENANCE_QUEUE},
    "backoffice.compact_call_counts": {"queue": MAINTENANCE_QUEUE},
    "celery.backend_cleanup": {"queue": MAINTENANCE_QUEUE},  # beat's own entry, older databases
}
CELERY_RESULT_EXPIRES = None  # no result backend, so no daily backend_cleanup entry either

# --- Providers ----------------------------------------------------------------------------------
# Defaults point at the local sandbox (`python -m sandbox`) only while DEBUG is on; in production
# every URL and secret must be set explicitly.
# `dev.py run` starts the sandbox on SANDBOX_PORT (and `python -m sandbox` reads it too).
SANDBOX_URL = f"http://127.0.0.1:{env_int('SANDBOX_PORT', 8765, minimum=1, maximum=65535)}"


def _dev(value: str) -> str | Unset:
    from .envconfig import REQUIRED

    return value if DEBUG else REQUIRED


def _base64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _svix_secret(value: str) -> bytes:
    return base64.b64decode(value.removeprefix("whsec_"), validate=True)


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
# A bulk job's calls are sent in batches of this many per task (resends/engine/batch.py): one
# claim, one commit of their attempts, a thread each in flight, their successes recorded together.
ENGINE_BATCH_SIZE = env_int("ENGINE_BATCH_SIZE", 10, minimum=1, maximum=100)
# Resends of one bulk job in progress at once (bounds memory and queue depth). 0: as many as the
# account's rate sends in BULK_WINDOW_SECONDS (at least 50), so that the window never drains
# between two steps at any rate (services/bulk_run.window_for).
BULK_WINDOW = env_int("BULK_WINDOW", 0, minimum=0)
BULK_WINDOW_SECONDS = env_float("BULK_WINDOW_SECONDS", 8.0, minimum=1)
# The submitter of a bulk job is emailed when it ends, and once if this share of its finished
# items has failed (after at least BULK_FAILURE_ALERT_MIN_ITEMS).
BULK_FAILURE_ALERT_RATE = env_float("BULK_FAILURE_ALERT_RATE", 0.2, minimum=0, maximum=1)
BULK_FAILURE_ALERT_MIN_ITEMS = env_int("BULK_FAILURE_ALERT_MIN_ITEMS", 20, minimum=1)
# Managers are emailed when provider calls enter needs review, at most once per this many seconds
# (calls that enter review in between are in the next email).
REVIEW_NOTICE_INTERVAL_SECONDS = env_int("REVIEW_NOTICE_INTERVAL_SECONDS", 3600, minimum=60)


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
    "webhook_secret": env_secret(
        "JUNCTION_WEBHOOK_SECRET",
        _dev("whsec_" + base64.b64encode(b"sandbox-junction-webhook-secret-32b").decode()),
        decode=_svix_secret,
        form="whsec_ followed by base64 (as Junction shows it)",
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
    "webhook_username": env_secret("CHARGEBEE_WEBHOOK_USERNAME", _dev("chargebee")),
    "webhook_password": env_secret("CHARGEBEE_WEBHOOK_PASSWORD", _dev("sandbox-webhook-password")),
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
    "webhook_signing_key": env_secret(
        "RETURNHELPER_WEBHOOK_SIGNING_KEY",
        _dev(base64.b64encode(b"sandbox-returnhelper-signing-key").decode()),
        decode=_base64,
        form="base64 (as Return Helper shows it)",
    ),
    "group_max": env_int("RETURNHELPER_GROUP_MAX", 5, minimum=1),
}
# --- Metrics ----------------------------------------------------------------------------------
# GET /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is off (404)
# unless DEBUG is on (backoffice/metrics.py says why it is not a start-up error).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters (a random string).")

# Values that must never reach a log line, a page, the audit trail or an error report.
SECRET_VALUES = tuple(
    value
    for value in (
        SECRET_KEY,
        DATABASES["default"].get("PASSWORD") or "",
        urlsplit(CELERY_BROKER_URL).password or "",
        urlsplit(REDIS_URL).password or "",
        EMAIL_HOST_PASSWORD,
        env_str("SENTRY_DSN", ""),
        METRICS_TOKEN,
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

# --- Logging: one line per event (JSON in production), ids in context, secrets masked ----------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {LOG_LEVEL!r}."
    )
LOG_FORMAT = (env_str("LOG_FORMAT", "") or ("text" if DEBUG else "json")).lower()
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}.")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)

# --- Errors to Sentry (optional) ----------------------------------------------------------------
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    from . import sentry

    sentry.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "") or ("development" if DEBUG else "production"),
        release=env_str("SENTRY_RELEASE", ""),
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0, maximum=1),
    )


def _every(task: str, seconds: float, *, expires: float | None = None) -> dict[str, object]:
    """A beat entry whose message expires (default: when the next one is sent) instead of
    piling up while the workers are down. `expire_seconds` is the option django-celery-beat's
    database scheduler keeps ("expires" would be dropped when the entry is stored)."""
    return {
        "task": task,
        "schedule": seconds,
        "options": {"expire_seconds": int(expires or seconds)},
    }


CELERY_BEAT_SCHEDULE = {
    # Repairs lost queue messages, expired leases and finished waits (resends/engine/sweeper.py).
    "sweep-provider-calls": _every("resends.tasks.sweep_calls", 30.0),
    "sync-order-mirrors": _every("resends.tasks.sync_mirrors", 300.0),
    # Re-rings running bulk jobs whose own advance message was lost.
    "sweep-bulk-jobs": _every("resends.tasks.sweep_bulk_jobs", 30.0),
    # Folds the provider-call count rows the triggers append (resends/services/call_counts.py).
    "compact-call-counts": _every("backoffice.compact_call_counts", 60.0),
    # Emails the managers about calls that entered needs review (REVIEW_NOTICE_INTERVAL_SECONDS).
    "review-notice": _every("resends.tasks.send_review_notice", 60.0),
    "clear-expired-sessions": _every(
        "backoffice.clear_sessions", 24 * 60 * 60.0, expires=60 * 60.0
    ),
}
# /readyz calls beat down when no entry was sent for this long (the sweeper's is every 30 s).
BEAT_STALE_SECONDS = env_int("BEAT_STALE_SECONDS", 120, minimum=35)
