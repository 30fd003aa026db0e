"""A job email that cannot be sent is logged with the job's id, not swallowed."""

from __future__ import annotations

import pytest

from resends.services import bulk_run, notify
from tests.backoffice.helpers import closed_port

from .test_bulk_run import mirror_chargebee, new_job

pytestmark = pytest.mark.django_db


def test_a_failed_send_is_logged_with_the_job(
    sandbox, agent, settings, caplog, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 5
    mirror_chargebee(sandbox, 1)
    job = new_job(agent)
    with django_capture_on_commit_callbacks(execute=True):
        notify.job_ended(job, bulk_run.progress(job))
    (record,) = [r for r in caplog.records if r.name == "resends.services.notify"]
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert record.getMessage() == f"bulk job {job.pk}: the email to its submitter could not be sent"
    assert isinstance(record.exc_info[1], ConnectionRefusedError)
