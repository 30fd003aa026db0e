"""Sandbox configuration: credentials, switches and webhook targets."""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_REASON_CODES: tuple[str, ...] = (
    "Damaged",
    "Lost in Transit",
    "Wrong Item",
    "Missing Item",
    "Quality Issue",
)


@dataclass
class SandboxConfig:
    """Everything that can be set from the CLI, the environment or ``/_sandbox/reset``."""

    seed: int = 42
    # Credentials the sandbox accepts.
    junction_api_key: str = "sk_us_sandbox_key"
    chargebee_api_key: str = "test_sandbox_key"
    rh_api_key: str = "rh_sandbox_key"
    rh_api_token: str = "rh_sandbox_token"
    # Secrets the sandbox signs its webhooks with.
    rh_signing_key: str = base64.b64encode(b"sandbox-returnhelper-signing-key").decode()
    junction_webhook_secret: str = (
        "whsec_" + base64.b64encode(b"sandbox-junction-webhook-secret-32b").decode()
    )
    chargebee_webhook_username: str = "chargebee"
    chargebee_webhook_password: str = "sandbox-webhook-password"
    # Where webhooks go (None: not sent). webhook_url is Return Helper's.
    webhook_url: str | None = None
    junction_webhook_url: str | None = None
    chargebee_webhook_url: str | None = None
    webhook_delay: float = 2.0
    webhook_timeout: float = 10.0
    webhook_retries: int = 0
    webhook_retry_delay: float = 1.0
    # Return Helper rules.
    group_max: int = 5
    rh_auto_progress: bool = True
    # Chargebee rules.
    reason_mandatory: bool = False
    reason_codes: list[str] = field(default_factory=lambda: list(DEFAULT_REASON_CODES))
    idempotency_window_seconds: float = 1800.0
    max_resends_per_order: int = 5
    # Junction rules.
    junction_max_window_days: int = 60
    # Diagnostics.
    verbose: bool = False

    def updated(self, changes: dict[str, Any]) -> SandboxConfig:
        """A copy with ``changes`` applied; unknown keys or wrong types raise ValueError."""
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        clean = {name: coerce(name, value, self) for name, value in changes.items()}
        return dataclasses.replace(self, **clean)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def coerce(name: str, value: Any, current: SandboxConfig) -> Any:
    """Coerce a JSON/CLI value to the type of the field ``name`` holds."""
    default = getattr(current, name)
    if name in {"webhook_url", "junction_webhook_url", "chargebee_webhook_url"}:
        return None if value in (None, "") else str(value)
    if name == "reason_codes":
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(value)
        raise ValueError("reason_codes must be a list of strings")
    if isinstance(default, bool):
        return parse_bool(value)
    if isinstance(default, int):
        if isinstance(value, bool):
            raise ValueError(f"{name} must be an integer")
        return int(value)
    if isinstance(default, float):
        return float(value)
    return str(value)


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")
