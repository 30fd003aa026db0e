"""gunicorn.conf.py takes its values from the environment or from .env, like every process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_VARIABLES = ("PORT", "GUNICORN_BIND", "GUNICORN_THREADS", "WEB_CONCURRENCY")


def gunicorn_config(**env: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in (*GUNICORN_VARIABLES, "IGNORE_DOTENV", "ENV_FILE")
    }
    result = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
         "--print-config", "backoffice.wsgi"],
        cwd=ROOT, env={**clean, "DEBUG": "1", **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = {}
    for line in result.stdout.splitlines():
        name, _, value = line.partition("=")
        config[name.strip()] = value.strip()
    return config


def test_the_env_file_sets_the_web_process_too(tmp_path: Path) -> None:
    env_file = tmp_path / "backoffice.env"
    env_file.write_text("PORT=8123\nGUNICORN_THREADS=3\nWEB_CONCURRENCY=5\n")
    config = gunicorn_config(ENV_FILE=str(env_file))
    assert (config["bind"], config["threads"], config["workers"]) == (
        "['127.0.0.1:8123']",
        "3",
        "5",
    )
    # The process environment wins over the file, as for every variable.
    assert gunicorn_config(ENV_FILE=str(env_file), PORT="8124")["bind"] == "['127.0.0.1:8124']"
