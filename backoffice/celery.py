"""The Celery app. Configuration lives in settings (CELERY_*); the queue is only a doorbell:
the provider-call row in the database is the truth (see resends/engine).

Logging: workers and beat keep settings.LOGGING (our handler, its secret-masking filter and
format) instead of Celery's own; the request id rides along in a message header and the task's
ids are set around each task (backoffice/logs.py)."""

import logging.config
import os
from typing import Any

from celery import Celery, signals

from . import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def use_our_logging(**_: Any) -> None:
    """Answering this signal stops Celery from replacing the root logger's handlers."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    logging.captureWarnings(True)


@signals.celeryd_init.connect
def worker_starts(instance: Any = None, **_: Any) -> None:
    """Our logging from the worker's first line on (its start-up warnings come before Celery
    sets logging up), and no plain-text banner on stdout when the lines must be JSON."""
    from django.conf import settings

    use_our_logging()
    if instance is not None and settings.LOG_FORMAT == "json":
        instance.quiet = True


signals.before_task_publish.connect(logs.add_request_id_header, weak=False)
signals.task_prerun.connect(logs.enter_task, weak=False)
signals.task_postrun.connect(logs.leave_task, weak=False)
