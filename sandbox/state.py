"""Thread-safe in-memory provider state, the effect ledger, idempotency stores and faults.

With a state file the provider data, the ledger, the idempotency records and the id counters are
written to it after every change and read back at start, so the sandbox resumes where it stopped,
as a provider would. The request and webhook logs and the faults start empty each time.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.config import SandboxConfig
from sandbox.dataset import Dataset, build_dataset, iso_z
from sandbox.wire import Request

if TYPE_CHECKING:
    from sandbox.webhooks import Dispatcher

JsonDict = dict[str, Any]

PROVIDERS: tuple[str, ...] = ("junction", "chargebee", "returnhelper")
REQUEST_LOG_SIZE = 200
# Return Helper resends made at run time are numbered from here (the seeded ones lie below).
FIRST_RUNTIME_RESEND_ID = 5_000
STATE_FORMAT = 1
BODY_LOG_LIMIT = 65_536
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-vital-api-key"}
_SECRET_MARKERS = ("apikey", "api-key", "apitoken", "api-token", "secret", "password")


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Hide credentials; idempotency keys and everything else stay visible."""
    clean: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        secret = lowered in _SECRET_HEADERS or any(m in lowered for m in _SECRET_MARKERS)
        clean[name] = "***" if secret else value
    return clean


@dataclass
class FaultConfig:
    """Per-provider faults. Counts (``*_count``, ``rate_limit_burst``, ``drop_after_apply``,
    ``error_after_apply``) decrement as they are used; ``None`` counts mean "every request while
    configured". Rates (``*_rate``, 0-1) draw from one generator seeded by ``seed``."""

    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    error_count: int | None = None
    error_plain: bool = False
    rate_limit_burst: int = 0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    hang_seconds: float = 0.0
    hang_count: int | None = None
    hang_rate: float = 0.0
    drop_after_apply: int = 0
    drop_rate: float = 0.0
    # A gateway's 5xx after the provider applied the request (a 502/504 from the proxy in front).
    error_after_apply: int = 0
    error_after_apply_rate: float = 0.0
    methods: list[str] | None = None
    seed: int | None = None
    injected: dict[str, int] = field(
        default_factory=lambda: {
            "latency": 0,
            "error": 0,
            "rate_limit": 0,
            "hang": 0,
            "drop": 0,
            "error_after_apply": 0,
        }
    )

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def public(self) -> JsonDict:
        return asdict(self)


@dataclass
class FaultDecision:
    latency: float = 0.0
    rate_limited: bool = False
    retry_after: int = 1
    error_status: int | None = None
    error_plain: bool = False
    hang: float = 0.0
    drop: bool = False
    error_after_apply: int | None = None  # the status to answer once the request is applied

    @property
    def name(self) -> str | None:
        if self.rate_limited:
            return "rate_limit"
        if self.error_status is not None:
            return "error"
        if self.drop:
            return "drop_after_apply"
        if self.error_after_apply is not None:
            return "error_after_apply"
        if self.hang:
            return "hang"
        return None


@dataclass
class IdempotencyRecord:
    fingerprint: str
    status: int
    body: bytes
    headers: dict[str, str]
    created_at: float

    def dump(self) -> JsonDict:
        return {**asdict(self), "body": base64.b64encode(self.body).decode()}

    @classmethod
    def load(cls, data: JsonDict) -> IdempotencyRecord:
        return cls(**{**data, "body": base64.b64decode(data["body"])})


def parse_fault_config(body: JsonDict) -> FaultConfig:
    allowed = {name for name in FaultConfig.__dataclass_fields__ if name != "injected"}
    unknown = sorted(set(body) - allowed - {"provider"})
    if unknown:
        raise ValueError(f"unknown fault keys: {', '.join(unknown)}")
    values = {key: value for key, value in body.items() if key in allowed}
    if "methods" in values and values["methods"] is not None:
        values["methods"] = [str(method).upper() for method in values["methods"]]
    fault = FaultConfig(**values)
    for name in (
        "error_rate",
        "rate_limit_rate",
        "hang_rate",
        "drop_rate",
        "error_after_apply_rate",
    ):
        if not 0 <= getattr(fault, name) <= 1:
            raise ValueError(f"{name} must be between 0 and 1")
    return fault


_DATASET_CACHE: dict[int, tuple[float, Dataset, str]] = {}
_DATASET_CACHE_SECONDS = 600.0
_DATA_KEYS = (
    "junction_orders",
    "junction_users",
    "chargebee_orders",
    "returnhelper_inventories",
    "returnhelper_shipments",
    "returnhelper_resends",
)


def fresh_data(seed: int) -> tuple[Dataset, JsonDict]:
    """The dataset for ``seed`` and a private mutable copy of its provider data.

    The dataset is built once and reused for ten minutes (its times are relative to when it
    was built), so resets between tests stay cheap.
    """
    cached = _DATASET_CACHE.get(seed)
    if cached is None or time.monotonic() - cached[0] > _DATASET_CACHE_SECONDS:
        dataset = build_dataset(seed)
        blob = json.dumps({key: getattr(dataset, key) for key in _DATA_KEYS})
        cached = (time.monotonic(), dataset, blob)
        _DATASET_CACHE[seed] = cached
    return cached[1], json.loads(cached[2])


# What the state file keeps: (key in the file, attribute) for the provider data, and the counters.
_PERSISTED_DATA = (
    ("junction_orders", "junction_orders"),
    ("junction_users", "junction_users"),
    ("chargebee_orders", "chargebee_orders"),
    ("returnhelper_inventories", "rh_inventories"),
    ("returnhelper_shipments", "rh_shipments"),
    ("returnhelper_resends", "rh_resends"),
)
_COUNTERS = (
    "next_resend_id",
    "next_resend_shipment_id",
    "next_inventory_id",
    "next_junction_event_id",
    "next_cb_document",
)


class SandboxState:
    """All mutable sandbox state. Hold ``lock`` while reading or changing provider data."""

    def __init__(self, config: SandboxConfig | None = None, state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.base_config = config or SandboxConfig()
        self.config = self.base_config
        self.dispatcher: Dispatcher | None = None
        self.generation = 0
        self.state_file = state_file
        if state_file is not None and state_file.exists():
            self.restore(state_file)
        else:
            self.reset()

    # --- lifecycle --------------------------------------------------------------------------

    def reset(self, overrides: JsonDict | None = None) -> None:
        """Re-seed from the dataset with the start-up config plus ``overrides``."""
        config = self.base_config.updated(overrides or {})
        dataset, data = fresh_data(config.seed)
        with self.lock:
            self.config = config
            self._install(dataset, data)
            self.ledger: list[JsonDict] = []
            self.cb_idempotency: dict[str, IdempotencyRecord] = {}
            self.rh_idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
            # Ids for things created at run time come from their own deterministic stream.
            self.rng = random.Random(config.seed * 7919 + 1)
            self.next_resend_id = FIRST_RUNTIME_RESEND_ID
            self.next_resend_shipment_id = 8_000
            self.next_inventory_id = max(self.rh_inventories) + 11
            self.next_junction_event_id = 1 + max(
                int(o["last_event"]["id"]) for o in self.junction_orders.values()
            )
            self.next_cb_document = 90_000
            self.save()
        if self.dispatcher is not None:
            self.dispatcher.clear()

    def _install(self, dataset: Dataset, data: JsonDict) -> None:
        """Provider data from ``data`` (the dataset's shapes); the logs and faults start empty."""
        self.generation += 1
        self.dataset: Dataset = dataset
        self.junction_orders: dict[str, JsonDict] = {o["id"]: o for o in data["junction_orders"]}
        self.junction_users: dict[str, JsonDict] = {u["user_id"]: u for u in data["junction_users"]}
        self.chargebee_orders: dict[str, JsonDict] = {o["id"]: o for o in data["chargebee_orders"]}
        self.rh_inventories: dict[int, JsonDict] = {
            int(i["returnInventoryId"]): i for i in data["returnhelper_inventories"]
        }
        self.rh_shipments: dict[int, JsonDict] = {
            int(s["shipmentId"]): s for s in data["returnhelper_shipments"]
        }
        self.rh_resends: dict[int, JsonDict] = {
            int(r["resendId"]): r for r in data["returnhelper_resends"]
        }
        self.requests: deque[JsonDict] = deque(maxlen=REQUEST_LOG_SIZE)
        self.webhooks: list[JsonDict] = []
        self.emails: list[JsonDict] = []  # what the "providers" emailed customers
        self.faults: dict[str, FaultConfig] = {}
        self._seq = 0

    def update_config(self, changes: JsonDict) -> None:
        with self.lock:
            self.config = self.config.updated(changes)

    # --- the state file ---------------------------------------------------------------------

    def save(self) -> None:
        """Write the state file, if there is one: whole (a new file renamed over the old), so a
        kill at any moment leaves the previous or the new state, never half of one. Called after
        every change, before the client hears of it. No fsync: it outlives a killed process, not
        a power cut."""
        if self.state_file is None:
            return
        with self.lock:
            snapshot = {
                "format": STATE_FORMAT,
                "seed": self.config.seed,
                **{key: list(getattr(self, attr).values()) for key, attr in _PERSISTED_DATA},
                "ledger": self.ledger,
                "cb_idempotency": {k: r.dump() for k, r in self.cb_idempotency.items()},
                "rh_idempotency": [[*k, r.dump()] for k, r in self.rh_idempotency.items()],
                "rng": self.rng.getstate(),
                "counters": {name: getattr(self, name) for name in _COUNTERS},
            }
            temporary = self.state_file.with_name(self.state_file.name + ".tmp")
            temporary.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(snapshot, separators=(",", ":")))
            os.replace(temporary, self.state_file)

    def restore(self, path: Path) -> None:
        """Resume from a state file; ValueError if it is unreadable or made for another seed."""
        try:
            snapshot = json.loads(path.read_text())
            if snapshot.get("format") != STATE_FORMAT:
                raise ValueError(f"format {snapshot.get('format')!r}, not {STATE_FORMAT}")
            if snapshot.get("seed") != self.config.seed:
                raise ValueError(f"made with seed {snapshot.get('seed')}, not {self.config.seed}")
            dataset, _ = fresh_data(self.config.seed)
            version, internal, gauss = snapshot["rng"]
            with self.lock:
                self._install(dataset, {key: snapshot[key] for key, _ in _PERSISTED_DATA})
                self.ledger = snapshot["ledger"]
                self.cb_idempotency = {
                    k: IdempotencyRecord.load(r) for k, r in snapshot["cb_idempotency"].items()
                }
                self.rh_idempotency = {
                    (operation, key): IdempotencyRecord.load(record)
                    for operation, key, record in snapshot["rh_idempotency"]
                }
                self.rng = random.Random()
                self.rng.setstate((version, tuple(internal), gauss))
                for name in _COUNTERS:
                    setattr(self, name, int(snapshot["counters"][name]))
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"cannot resume from {path}: {exc}") from exc

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def now() -> float:
        return time.time()

    @staticmethod
    def now_iso() -> str:
        return iso_z(datetime.now(UTC))

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    # --- the effect ledger ------------------------------------------------------------------

    def record_effect(
        self,
        provider: str,
        operation: str,
        target: Any,
        idempotency_key: str | None,
        result: Any,
        details: JsonDict | None = None,
    ) -> JsonDict:
        with self.lock:
            entry: JsonDict = {
                "seq": len(self.ledger) + 1,
                "provider": provider,
                "operation": operation,
                "target": target,
                "idempotency_key": idempotency_key,
                "applied_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "result": result,
                "details": details or {},
            }
            self.ledger.append(entry)
            return entry

    def ledger_entries(
        self, provider: str | None = None, operation: str | None = None
    ) -> list[JsonDict]:
        with self.lock:
            return [
                copy.deepcopy(entry)
                for entry in self.ledger
                if (provider is None or entry["provider"] == provider)
                and (operation is None or entry["operation"] == operation)
            ]

    # --- request log ------------------------------------------------------------------------

    def log_request(self, provider: str, request: Request) -> JsonDict:
        body = request.body[:BODY_LOG_LIMIT].decode("utf-8", errors="replace")
        entry: JsonDict = {
            "seq": 0,
            "at": self.now_iso(),
            "provider": provider,
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": redact_headers(request.headers),
            "body": body,
            "status": None,
            "fault": None,
        }
        with self.lock:
            entry["seq"] = self.next_seq()
            self.requests.append(entry)
        return entry

    def request_log(self, provider: str | None = None) -> list[JsonDict]:
        with self.lock:
            return [
                copy.deepcopy(entry)
                for entry in self.requests
                if provider is None or entry["provider"] == provider
            ]

    # --- webhooks sent ----------------------------------------------------------------------

    def record_webhook(self, record: JsonDict) -> JsonDict:
        with self.lock:
            record["seq"] = len(self.webhooks) + 1
            self.webhooks.append(record)
            return record

    def webhook_log(self, provider: str | None = None) -> list[JsonDict]:
        with self.lock:
            return [
                copy.deepcopy(record)
                for record in self.webhooks
                if provider is None or record["provider"] == provider
            ]

    # --- faults -----------------------------------------------------------------------------

    def set_faults(self, provider: str, fault: FaultConfig) -> None:
        with self.lock:
            self.faults[provider] = fault

    def clear_faults(self, provider: str | None = None) -> None:
        with self.lock:
            if provider is None:
                self.faults.clear()
            else:
                self.faults.pop(provider, None)

    def fault_decision(self, provider: str, method: str, mutating: bool) -> FaultDecision:
        """Decide (and count) which fault, if any, this request gets."""
        with self.lock:
            fault = self.faults.get(provider)
            decision = FaultDecision()
            if fault is None:
                return decision
            applies = fault.methods is None or method.upper() in fault.methods
            if applies and fault.latency_ms > 0:
                decision.latency = fault.latency_ms / 1000
                fault.injected["latency"] += 1
            limited = fault.rate_limit_burst > 0
            if applies and not limited and fault.rate_limit_rate > 0:
                limited = fault.rng.random() < fault.rate_limit_rate
            if applies and limited:
                fault.rate_limit_burst = max(0, fault.rate_limit_burst - 1)
                fault.injected["rate_limit"] += 1
                decision.rate_limited = True
                decision.retry_after = fault.retry_after
                return decision
            if (
                applies
                and fault.error_rate > 0
                and (fault.error_count is None or fault.error_count > 0)
                and fault.rng.random() < fault.error_rate
            ):
                if fault.error_count is not None:
                    fault.error_count -= 1
                fault.injected["error"] += 1
                decision.error_status = fault.error_status
                decision.error_plain = fault.error_plain
                return decision
            if (
                applies
                and fault.hang_seconds > 0
                and (fault.hang_count is None or fault.hang_count > 0)
                and (fault.hang_rate == 0 or fault.rng.random() < fault.hang_rate)
            ):
                if fault.hang_count is not None:
                    fault.hang_count -= 1
                fault.injected["hang"] += 1
                decision.hang = fault.hang_seconds
            if not mutating:
                return decision
            if fault.drop_after_apply > 0 or (
                fault.drop_rate > 0 and fault.rng.random() < fault.drop_rate
            ):
                fault.drop_after_apply = max(0, fault.drop_after_apply - 1)
                fault.injected["drop"] += 1
                decision.drop = True
            elif fault.error_after_apply > 0 or (
                fault.error_after_apply_rate > 0
                and fault.rng.random() < fault.error_after_apply_rate
            ):
                fault.error_after_apply = max(0, fault.error_after_apply - 1)
                fault.injected["error_after_apply"] += 1
                decision.error_after_apply = fault.error_status
                decision.error_plain = fault.error_plain
            return decision

    def faults_public(self) -> JsonDict:
        with self.lock:
            return {name: fault.public() for name, fault in self.faults.items()}
