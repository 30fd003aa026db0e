"""Log lines: JSON with the ids in context, secrets masked, in the web, a real worker and a
command process alike."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from backoffice import logs
from backoffice.celery import app
from dev import production_like_env
from resends.models import ProviderCall
from resends.models.audit import CallState
from tests.engine.helpers import configure
from tests.engine.test_worker import submit_batch
from tests.engine.worker import ROOT, celery_worker, wait_until, worker_env

from .helpers import json_lines, json_log

SECRET = settings.SECRET_VALUES[0]


def test_a_json_line_carries_the_ids_in_context_and_masks_secrets() -> None:
    with json_log() as out, logs.bound(request_id="req-1", task_id="t-1", call_id=7):
        logging.getLogger("resends.engine").warning(
            "call %s: %s", 7, f"key {SECRET}", extra={"detail": {"key": SECRET}}
        )
        try:
            raise ValueError(f"bad {SECRET}")
        except ValueError:
            logging.getLogger("resends.engine").exception("boom")
    first, second = json_lines(out.getvalue())
    assert first["message"] == "call 7: key ***" and first["detail"] == {"key": "***"}
    assert (first["request_id"], first["task_id"], first["call_id"]) == ("req-1", "t-1", 7)
    assert first["level"] == "WARNING" and first["logger"] == "resends.engine"
    assert "ValueError: bad ***" in second["exc"]
    assert SECRET not in out.getvalue()


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("abc-123", True),
        ("Root=1-67891233-abcdef012345678912345678", True),
        ("has space", False),
        ('quote"d', False),
        ("x" * 200, False),
        ("", False),
    ],
)
def test_the_request_id_is_the_callers_when_sane(client: Client, incoming: str, kept: bool) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    rid = response["X-Request-ID"]
    assert (rid == incoming) is kept
    assert len(rid) == 32 or kept


def test_web_lines_carry_the_request_id_and_it_ends_with_the_response(client: Client) -> None:
    with json_log() as out:
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="page-404")
    assert response.status_code == 404 and response["X-Request-ID"] == "page-404"
    (line,) = [line for line in json_lines(out.getvalue()) if line["logger"] == "django.request"]
    assert line["request_id"] == "page-404" and line["message"] == "Not Found: /no-such-page/"
    assert logs.request_id.get() is None  # request_finished cleared it


def test_a_task_queued_under_a_request_carries_its_id_in_a_header() -> None:
    headers: dict[str, str] = {}
    logs.add_request_id_header(headers=headers)
    assert headers == {}
    with logs.bound(request_id="req-9"):
        logs.add_request_id_header(headers=headers)
    assert headers == {"request_id": "req-9"}


def run_command(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "DEBUG")}
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**clean, "IGNORE_DOTENV": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_command_logs_json_lines_with_secrets_masked() -> None:
    planted = "planted-" + uuid.uuid4().hex
    result = run_command(
        f"import logging; logging.getLogger('ops').warning('key is {planted}')",
        DEBUG="1",
        LOG_FORMAT="json",
        SECRET_KEY=planted,
    )
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stderr)
    assert [line["message"] for line in lines if line["logger"] == "ops"] == ["key is ***"]
    assert planted not in result.stderr + result.stdout


def test_json_is_the_default_in_production_and_text_under_debug() -> None:
    show = "from django.conf import settings; print(settings.LOG_FORMAT)"
    production = run_command(show, **production_like_env())
    assert production.stdout.strip().endswith("json"), production.stderr
    assert run_command(show, DEBUG="1").stdout.strip().endswith("text")


def task_succeeded_logged(text: str, task: str, call_id: int) -> bool:
    """Has the worker written the task's "succeeded" line yet (whole lines only: the last one
    may still be being written)?"""
    for raw in text.splitlines()[:-1] if not text.endswith("\n") else text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if (
            isinstance(line, dict)
            and line.get("task") == task
            and line.get("call_id") == call_id
            and "succeeded" in line.get("message", "")
        ):
            return True
    return False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_json_with_task_and_call_ids_and_masks_secrets(
    sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: Celery replaced the handler that masked, so a worker logged secrets in clear."""
    app.control.purge()
    planted = "test_PLANTED_" + uuid.uuid4().hex
    with logs.bound(request_id="rid-from-the-console"):
        (call,) = submit_batch(sandbox, 1)
    configure(sandbox, chargebee_api_key=planted)  # the provider now expects the planted key
    # A task whose failure message quotes what it was given, as Celery logs it.
    failing = app.send_task(
        "resends.tasks.run_scheduled_replay", kwargs={"schedule": "ops", "kind": planted}
    )
    log = tmp_path / "worker.log"
    env = worker_env(sandbox, CHARGEBEE_API_KEY=planted, LOG_FORMAT="json", LOG_LEVEL="INFO")
    with celery_worker(env, log):
        # The call's success is committed before its task returns, so the task's own
        # "succeeded" line is waited for too (it is written just after).
        done = wait_until(
            lambda: (
                ProviderCall.objects.filter(pk=call.pk, state=CallState.SUCCEEDED).exists()
                and failing.id in log.read_text()
                and "raised unexpected" in log.read_text()
                and task_succeeded_logged(log.read_text(), "resends.tasks.execute_call", call.pk)
            ),
            timeout=120,
        )
        text = log.read_text()  # read while it runs: Celery's shutdown notice is plain text
    assert done, text[-3000:]
    lines = json_lines(text)
    assert planted not in text
    # This task's failure, masked (a message an earlier test left in the queue may fail too; in
    # a full run the line was once seen twice for the one task, so every one of them is checked).
    failures = [
        line
        for line in lines
        if "raised unexpected" in line["message"] and line.get("task_id") == failing.id
    ]
    assert failures and all("***" in failure["message"] for failure in failures)
    # Only this call's line: a message an earlier test left in the queue may run here too.
    (succeeded,) = [
        line
        for line in lines
        if line.get("task") == "resends.tasks.execute_call"
        and "succeeded" in line["message"]
        and line.get("call_id") == call.pk
    ]
    assert succeeded["request_id"] == "rid-from-the-console"
    assert succeeded["task_id"] in succeeded["message"]
