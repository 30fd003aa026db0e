"""Log lines that can be searched: one JSON object per line (or readable text under DEBUG), the
request id, task id and call id on every line they concern, and secrets masked in every process.

The ids travel in context variables: the web's RequestIdMiddleware sets the request id, Celery
carries it in a message header to the tasks the request queues (before_task_publish), and the
worker sets it again with the task's own ids around each task (task_prerun / task_postrun). A
filter copies them onto each record, so the code that logs needs nothing special.
"""

from __future__ import annotations

import contextvars
import inspect
import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from resends.redaction import redact_text, redact_value

REQUEST_ID_HEADER = "request_id"  # the Celery message header
# An incoming X-Request-ID is kept when it looks like an id (what proxies and load balancers
# send); anything else (too long, spaces, quotes, control characters) is replaced by a new one.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)
task_name: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_name", default=None)
call_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("call_id", default=None)
job_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("job_id", default=None)

CONTEXT_FIELDS: dict[str, contextvars.ContextVar[Any]] = {
    "request_id": request_id,
    "task_id": task_id,
    "task": task_name,
    "call_id": call_id,
    "job_id": job_id,
}


def sane_request_id(incoming: str | None) -> str:
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Set some of the context ids for the duration of a block (commands, tests)."""
    tokens = [(CONTEXT_FIELDS[name], CONTEXT_FIELDS[name].set(v)) for name, v in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Copies the ids in context onto the record (as attributes the formatters read)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT_FIELDS.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", *CONTEXT_FIELDS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids in context, `extra=`
    fields and the traceback. The finished line is masked, whatever field a secret hid in."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.processName,
            "pid": record.process,
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in line and not name.startswith("_"):
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # Masked before encoding (a secret JSON would escape still matches) and after (a value
        # only str() turned into text).
        return redact_text(json.dumps(redact_value(line), default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """The readable form for DEBUG=1: the usual line, then whichever ids are in context."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = [
            f"{name}={value}"
            for name in CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        if ids:
            first, newline, rest = text.partition("\n")
            text = f"{first} [{' '.join(ids)}]{newline}{rest}"
        return redact_text(text)


def logging_config(*, fmt: str, level: str) -> dict[str, Any]:
    """settings.LOGGING: one handler on stderr for every process (web, worker, beat, commands).
    Secrets are masked twice: by the handler's filter (which also cleans the record for other
    handlers) and by the formatter on the finished line."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "backoffice.logs.ContextFilter"},
            "redact_secrets": {"()": "resends.redaction.RedactSecretsFilter"},
        },
        "formatters": {
            "json": {"()": "backoffice.logs.JsonFormatter"},
            "text": {"()": "backoffice.logs.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["context", "redact_secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's default handlers for these (console under DEBUG, mail_admins) would
            # print a second, unformatted line: everything goes through ours instead.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "django.server": {"handlers": [], "level": "INFO", "propagate": True},
            "django.db.backends": {"level": "INFO"},
            # django-axes logs every good sign-in and its clean-up at INFO; failures and
            # lockouts, the lines worth reading, are WARNING.
            "axes": {"level": "WARNING"},
            # Billiard (Celery's process pool) logs pool errors here, with no handler of its own.
            "multiprocessing": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            # Gunicorn's own lines (gunicorn.conf.py) go through the same handler.
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }


# --- Celery: the request id rides in a message header, the task's ids are set around it -------
def add_request_id_header(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """before_task_publish: a task queued while handling a request (or by a task that was)
    carries that request's id."""
    current = request_id.get()
    if headers is not None and current and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = current


_task_tokens: dict[str, list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]]] = {}


def _argument(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    try:
        return inspect.signature(task.run).bind_partial(*args, **kwargs).arguments.get(name)
    except (TypeError, ValueError):
        return None


def enter_task(
    task_id: str | None = None,
    task: Any = None,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    """task_prerun: the task's id and name, the call or bulk job it works on (its `call_id` or
    `job_id` argument) and the request id it was queued with."""
    if task is None or task_id is None:
        return
    kwargs = kwargs or {}
    values: dict[str, Any] = {"task_id": task_id, "task": task.name}
    for name in ("call_id", "job_id"):
        value = _argument(task, tuple(args or ()), kwargs, name)
        values[name] = value if isinstance(value, int) else None
    queued_by = getattr(task.request, REQUEST_ID_HEADER, None)
    if isinstance(queued_by, str):
        values["request_id"] = sane_request_id(queued_by)
    _task_tokens[task_id] = [
        (CONTEXT_FIELDS[name], CONTEXT_FIELDS[name].set(value)) for name, value in values.items()
    ]


def leave_task(task_id: str | None = None, **_: Any) -> None:
    """task_postrun: back to what was in context before (an eager task inside a request keeps
    the request's id afterwards)."""
    for var, token in reversed(_task_tokens.pop(task_id or "", [])):
        try:
            var.reset(token)
        except ValueError:  # set in another context (should not happen); clear instead
            var.set(None)
