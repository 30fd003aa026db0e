"""The resend audit: who asked for what, and every call made to a provider because of it.

A ResendRequest is one submission (by an agent, a script or a schedule). Its ResendTargets are
what it is about. Each ProviderCall is one intended provider operation with a stable idempotency
key: the database row, not the queue, is the truth about whether it happened. Each CallAttempt is
one HTTP exchange for that call, written before the request goes out and completed after.
"""

import uuid
from enum import StrEnum

from django.conf import settings
from django.db import models
from django.db.models import Q

from .accounts import ProviderAccount
from .mirrors import LineItem, Order, ReturnInventory


class ResendKind(models.TextChoices):
    JUNCTION_ORDERS = "junction_orders", "Junction: replay webhooks for orders"
    JUNCTION_WINDOW = "junction_window", "Junction: replay webhooks for a window"
    CHARGEBEE_FULL = "chargebee_full", "Chargebee: full resend"
    CHARGEBEE_PARTIAL = "chargebee_partial", "Chargebee: partial resend"
    RETURNHELPER = "returnhelper", "Return Helper: resend inventories"


class Channel(models.TextChoices):
    WEB = "web", "Console"
    CLI = "cli", "Command line"
    BULK = "bulk", "Bulk job"
    SCHEDULE = "schedule", "Schedule"


# Resends made by bulk jobs and schedules: the rate budget's bulk lane, "pending in another job".
BULK_CHANNELS = (Channel.BULK, Channel.SCHEDULE)


class Lane(StrEnum):
    """Which lane of the rate budget (and which queue) a call travels in: agents' resends go
    first; bulk jobs and schedules fill the rest."""

    SINGLE = "single"  # an agent's resend, a retry, a cancel
    BULK = "bulk"  # bulk jobs and schedules


def lane_of(channel: str) -> Lane:
    return Lane.BULK if channel in BULK_CHANNELS else Lane.SINGLE


class RequestState(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTLY_FAILED = "partly_failed", "Partly failed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    NEEDS_REVIEW = "needs_review", "Needs review"


class ResendRequest(models.Model):
    State = RequestState

    FINAL_STATES = (
        State.SUCCEEDED,
        State.PARTLY_FAILED,
        State.FAILED,
        State.CANCELLED,
        State.NEEDS_REVIEW,
    )

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    intent_key = models.CharField(
        max_length=120, unique=True, help_text="One per intent: a repeat submit finds this row."
    )
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text="Hash of what is resent: finds the same intent from a second tab or agent.",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="resend_requests"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    account = models.ForeignKey(
        ProviderAccount, on_delete=models.PROTECT, related_name="resend_requests"
    )
    kind = models.CharField(max_length=30, choices=ResendKind.choices)
    selection = models.JSONField(
        default=dict, help_text="What was picked, as submitted: ids, lines, or a window."
    )
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    reason_code = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    ticket = models.CharField(
        max_length=40, blank=True, help_text="The helpdesk ticket this resend answers (optional)."
    )
    shipping_date = models.DateField(null=True, blank=True)
    destination = models.JSONField(default=dict, blank=True, help_text="Return Helper address.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_resend_requests",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.TextField(blank=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retries"
    )
    bulk_job = models.ForeignKey(
        "resends.BulkJob",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        permissions = [("approve_resendrequest", "Can approve or reject resend requests")]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_start__isnull=True)
                | Q(window_end__isnull=True)
                | Q(window_end__gt=models.F("window_start")),
                name="request_window_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ResendKind.JUNCTION_WINDOW) | Q(window_start__isnull=False),
                name="request_window_kind_has_start",
            ),
            models.CheckConstraint(
                condition=Q(state__in=RequestState.values), name="request_state_known"
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | Q(approved_at__isnull=False),
                name="request_approval_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["-submitted_at", "-id"], name="request_submitted_idx"),
            models.Index(fields=["state", "-submitted_at"], name="request_state_idx"),
            models.Index(fields=["account", "-submitted_at"], name="request_account_idx"),
            models.Index(fields=["submitted_by", "-submitted_at"], name="request_submitter_idx"),
            models.Index(fields=["fingerprint", "-submitted_at"], name="request_fingerprint_idx"),
            models.Index(fields=["ticket"], name="request_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES


class ResendTarget(models.Model):
    """One thing a request is about: an order, a line with a quantity, or an inventory."""

    request = models.ForeignKey(ResendRequest, on_delete=models.CASCADE, related_name="targets")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="resend_targets"
    )
    line_item = models.ForeignKey(
        LineItem, null=True, blank=True, on_delete=models.PROTECT, related_name="resend_targets"
    )
    inventory = models.ForeignKey(
        ReturnInventory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resend_targets",
    )
    external_ref = models.CharField(
        max_length=64, blank=True, help_text="Provider id, also for ids not (yet) mirrored."
    )
    quantity = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["request", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(line_item__isnull=True) | Q(quantity__gte=1),
                name="target_line_has_quantity",
            ),
            models.CheckConstraint(
                condition=Q(order__isnull=False)
                | Q(line_item__isnull=False)
                | Q(inventory__isnull=False)
                | ~Q(external_ref=""),
                name="target_names_something",
            ),
            models.UniqueConstraint(
                fields=["request", "line_item"],
                condition=Q(line_item__isnull=False),
                name="target_line_once_per_request",
            ),
            models.UniqueConstraint(
                fields=["request", "inventory"],
                condition=Q(inventory__isnull=False),
                name="target_inventory_once_per_request",
            ),
        ]
        indexes = [models.Index(fields=["external_ref"], name="target_external_ref_idx")]

    def __str__(self) -> str:
        thing = self.line_item or self.inventory or self.order or self.external_ref
        return f"{thing}" + (f" × {self.quantity}" if self.quantity else "")


class ErrorClass(models.TextChoices):
    PERMANENT = "permanent", "Permanent (the provider refused)"
    TRANSIENT = "transient", "Transient (nothing happened; safe to retry)"
    UNKNOWN = "unknown", "Unknown (may have happened)"


class CallState(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown"
    NEEDS_REVIEW = "needs_review", "Needs review"
    CANCELLED = "cancelled", "Cancelled"


class ProviderCall(models.Model):
    State = CallState

    class Operation(models.TextChoices):
        JUNCTION_RESEND_EVENTS = "junction.resend_events", "Junction resend_events"
        CHARGEBEE_RESEND_ORDER = "chargebee.resend_order", "Chargebee resend order"
        RETURNHELPER_CREATE_RESEND = "returnhelper.create_resend", "Return Helper createResend"
        RETURNHELPER_CANCEL_RESEND = "returnhelper.cancel_resend", "Return Helper cancelResend"

    request = models.ForeignKey(ResendRequest, on_delete=models.PROTECT, related_name="calls")
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="calls")
    subject = models.CharField(
        max_length=64, blank=True, help_text="The provider object acted on (e.g. the order id)."
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    intent_key = models.CharField(max_length=160, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who asked for this call when it was not the submitter (a cancel, a retry).",
    )
    operation = models.CharField(max_length=40, choices=Operation.choices)
    payload = models.JSONField(default=dict, help_text="What we send, before encoding.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=100, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    provider_reference = models.CharField(
        max_length=100, blank=True, help_text="New order id, resendId…"
    )
    provider_reference_2 = models.CharField(max_length=100, blank=True, help_text="resendNumber…")
    provider_status = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    label_url = models.URLField(max_length=500, blank=True)
    label_id = models.CharField(
        max_length=40, blank=True, help_text="Return Helper's shipment label id, by webhook."
    )
    failure_reason = models.TextField(blank=True)
    error_class = models.CharField(max_length=10, choices=ErrorClass.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    review_since = models.DateTimeField(
        null=True, blank=True, help_text="When it last went to needs review."
    )
    repeats = models.PositiveSmallIntegerField(
        default=0,
        help_text="Times it was sent again after an outcome the provider could not tell "
        "(Junction's replays, which are harmless to repeat).",
    )

    class Meta:
        ordering = ["request", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=CallState.values), name="call_state_known"
            ),
            models.CheckConstraint(
                condition=~Q(state="in_flight") | Q(locked_at__isnull=False),
                name="call_in_flight_is_locked",
            ),
            models.CheckConstraint(
                condition=~Q(state="succeeded") | Q(finished_at__isnull=False),
                name="call_succeeded_has_finish",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="call_due_idx"),
            models.Index(fields=["provider_reference"], name="call_reference_idx"),
            models.Index(fields=["provider_reference_2"], name="call_reference_2_idx"),
            models.Index(fields=["tracking_number"], name="call_tracking_idx"),
            models.Index(fields=["account", "subject", "state"], name="call_subject_idx"),
            models.Index(fields=["-created_at"], name="call_created_idx"),
            models.Index(
                fields=["review_since"],
                condition=Q(state="needs_review"),
                name="call_in_review_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} {self.idempotency_key}"


class CallAttempt(models.Model):
    """One HTTP exchange. Created before the request leaves; completed when it returns."""

    call = models.ForeignKey(ProviderCall, on_delete=models.PROTECT, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    celery_task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request_redacted = models.JSONField(default=dict)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    error_class = models.CharField(max_length=10, choices=ErrorClass.choices, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["call", "number"]
        constraints = [
            models.UniqueConstraint(fields=["call", "number"], name="attempt_number_unique"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.call_id}"
