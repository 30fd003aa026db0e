"""`python3 dev.py run` as a person runs it: on ports of its own (not 8000 and 8765), it answers
with the console URL and the logins last; a resend made there reaches its own sandbox; Ctrl-C
stops it quietly; started again (after a Ctrl-C, and after a kill -9) the database and the
sandbox still tell the same story. Real processes, real HTTP, the embedded default (SQLite and
the filesystem broker) in a var/ of its own."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

from tests.engine.worker import wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
        reason="dev.py run uses the embedded default; the suite's SQLite pass runs this",
    ),
]

ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 300  # migrations and the demo data on a fresh SQLite file, on a busy machine
CB_AUTH = ("test_sandbox_key", "")
# What the application reads; none of the suite's own (its database, its broker) may leak in.
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class Demo:
    env: dict[str, str]
    web: int
    sandbox: int
    lines: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def site(self) -> str:
        return f"http://127.0.0.1:{self.web}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox}"

    def django(self, code: str) -> Any:
        """Run ``code`` (which prints JSON) in the demo's own database."""
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup()\n{code}"],
            cwd=ROOT,
            env={**self.env, "DJANGO_SETTINGS_MODULE": "backoffice.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def ledger(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.sandbox_url}/_sandbox/ledger", timeout=10)
        entries: list[dict[str, Any]] = answer.json()["entries"]
        return entries

    def sandbox_order(self, order_id: str) -> dict[str, Any] | None:
        url = f"{self.sandbox_url}/chargebee/api/v2/orders/{order_id}"
        answer = requests.get(url, auth=CB_AUTH, timeout=10)
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        order: dict[str, Any] = answer.json()["order"]
        return order

    def console(self) -> requests.Session:
        session = requests.Session()
        session.get(f"{self.site}/login/", timeout=10)
        signed_in = session.post(
            f"{self.site}/login/",
            data={
                "username": "agent",
                "password": "agent-demo-password",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            timeout=10,
        )
        assert signed_in.url == f"{self.site}/", "the demo agent could not sign in"
        return session

    def resends_used(self, session: requests.Session, order_id: str) -> int:
        """What the console's order page says: "N of 5 resends used"."""
        pk = self.django(
            "import json; from resends.models import Order\n"
            f"print(json.dumps(Order.objects.get(external_id={order_id!r}).pk))"
        )
        page = session.get(f"{self.site}/orders/{pk}/", timeout=10).text
        found = re.search(r"(\d+) of 5 resends used", page)
        assert found, page
        return int(found.group(1))

    def resend(self, order_id: str, *options: str) -> None:
        self.manage("submit_resend", "chargebee", order_id, "--as", "agent", *options)

    def settled(self) -> bool:
        """Every resend succeeded, and the sandbox has delivered every webhook about them."""
        states = self.django(
            "import json; from resends.models import ResendRequest\n"
            "print(json.dumps(list(ResendRequest.objects.values_list('state', flat=True))))"
        )
        health = requests.get(f"{self.sandbox_url}/_sandbox/health", timeout=10).json()
        return set(states) == {"succeeded"} and not health["pending_jobs"]


@contextmanager
def running(demo: Demo) -> Iterator[list[str]]:
    """dev.py run until the block ends (then Ctrl-C, as a person stops it); yields its output
    up to and including the ready banner."""
    demo.lines = []
    proc = subprocess.Popen(
        [sys.executable, "dev.py", "run"],
        cwd=ROOT,
        env=demo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    demo.proc = proc

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            demo.lines.append(raw.decode(errors="replace").rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:

        def banner_done() -> bool:
            assert proc.poll() is None, "dev.py run ended:\n" + "\n".join(demo.lines)
            return any("Ctrl-C stops everything" in line for line in demo.lines)

        assert wait_until(banner_done, timeout=READY_SECONDS), "\n".join(demo.lines)
        yield list(demo.lines)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                raise
        reader.join(timeout=10)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    web, sandbox = free_port(), free_port()
    assert {web, sandbox}.isdisjoint({8000, 8765})
    env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env.update(
        IGNORE_DOTENV="1",
        DEBUG="1",
        VAR_DIR=str(tmp_path / "var"),
        PORT=str(web),
        SANDBOX_PORT=str(sandbox),
    )
    made = Demo(env=env, web=web, sandbox=sandbox)
    yield made
    if made.proc is not None and made.proc.poll() is None:
        os.killpg(made.proc.pid, signal.SIGKILL)


def partially_resendable_order(demo: Demo) -> tuple[str, str]:
    order_id, line_id = demo.django(
        "import json; from resends.models import Order\n"
        "order = Order.objects.filter(account__provider='chargebee', resend_count=0,\n"
        "    resent_status='', status__in=('shipped', 'delivered'), line_items__quantity__gte=2\n"
        ").order_by('pk').first()\n"
        "line = order.line_items.filter(quantity__gte=2).first()\n"
        "print(json.dumps([order.external_id, line.external_id]))"
    )
    return str(order_id), str(line_id)


def test_dev_run_on_its_own_ports_restarts_as_one_demo(demo: Demo) -> None:
    with running(demo) as started:
        # Nothing but dev.py's own lines before the banner (no Celery banners), and the URL
        # and the logins last.
        before = started[: next(i for i, line in enumerate(started) if "==> ready" in line)]
        assert all(line.startswith("==> ") or not line.strip() for line in before), before
        banner = "\n".join(started[len(before) :])
        assert f"console  {demo.site}/" in banner
        assert (
            "agent / agent-demo-password" in banner and "manager / manager-demo-password" in banner
        )

        # A resend made here reaches the sandbox on this run's SANDBOX_PORT.
        original, line = partially_resendable_order(demo)
        demo.resend(original, "--line", f"{line}=1", "--reason", "Damaged", "--note", "first")
        assert wait_until(demo.settled, timeout=120)
        [effect] = demo.ledger()
        assert effect["target"] == original
        resend_order = effect["result"]["order_id"]
        used = demo.resends_used(demo.console(), original)
        assert used >= 1

    # Ctrl-C: a quiet stop, nothing alarming printed after the banner.
    assert demo.proc is not None and demo.proc.returncode == 0
    after = demo.lines[len(started) :]
    assert not [line for line in after if re.search(r"ERROR|Traceback|CRITICAL", line)], after
    assert after[-1] == "==> stopped"

    with running(demo) as restarted:
        assert any("resumed where it stopped" in line for line in restarted)
        # Both halves remember the resend: the console counts what it counted before the stop
        # (a fresh copy of the demo data said "0 of 5" here), and the sandbox has it too ...
        assert demo.resends_used(demo.console(), original) == used
        sandbox_original = demo.sandbox_order(original)
        assert sandbox_original is not None
        assert [r["order_id"] for r in sandbox_original["resent_orders"]] == [resend_order]
        # ... and the order Chargebee made can itself be resent (a fresh sandbox knew nothing
        # of it: "Chargebee has no order").
        demo.resend(resend_order, "--reason", "Lost in Transit", "--note", "after a restart")
        assert wait_until(demo.settled, timeout=120)
        assert [e["target"] for e in demo.ledger()] == [original, resend_order]
        used_again = demo.resends_used(demo.console(), resend_order)
        # A kill -9 of dev.py: its processes go with it (the ports come free) ...
        assert demo.proc is not None
        demo.proc.send_signal(signal.SIGKILL)
        demo.proc.wait(timeout=30)
        assert wait_until(lambda: port_free(demo.web) and port_free(demo.sandbox), timeout=60)

    # ... and the demo still resumes as one.
    with running(demo):
        assert [e["target"] for e in demo.ledger()] == [original, resend_order]
        session = demo.console()
        assert demo.resends_used(session, original) == used
        assert demo.resends_used(session, resend_order) == used_again
        resent = demo.sandbox_order(resend_order)
        assert resent is not None and resent["resent_status"] == "fully_resent"
