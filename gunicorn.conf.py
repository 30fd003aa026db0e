"""Gunicorn settings for the web process (Procfile: `gunicorn -c gunicorn.conf.py ...`).

Threads (gthread): a worker process serves several requests at once, and its heartbeat to the
master comes from its main loop, not from the request threads, so a long streamed response (the
admin's CSV export) is not killed at `timeout`; `timeout` only catches a process that hangs.
Every value can be changed from the environment, or from .env like every other variable.
"""

import os


def _settings_logging() -> dict[str, object]:
    """Loading the settings reads .env (or ENV_FILE) into the environment, so it comes first:
    the values below may be set there too."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    from django.conf import settings

    return settings.LOGGING  # type: ignore[no-any-return]


# Gunicorn's own lines go through settings.LOGGING (JSON or text, secrets masked).
logconfig_dict = _settings_logging()

bind = [os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"]
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "60"))
keepalive = 5
# Each worker process is replaced after about this many requests (bounds slow leaks).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10

# The access line carries the request id the app returned.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s ua="%(a)s"'
