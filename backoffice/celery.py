"""The Celery app. Configuration lives in settings (CELERY_*); the queue is only a doorbell:
the provider-call row in the database is the truth (see resends/engine)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
