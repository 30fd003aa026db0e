"""Bulk jobs: one submission that resends everything a stored filter or window matches.

The filter is stored with the job and resolved on the server, in chunks, when the job runs; the
items it produces become ordinary resend requests (channel "bulk"), so each one is an exactly-once
call like any other and appears in the same audit.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from .accounts import ProviderAccount


class BulkKind(models.TextChoices):
    JUNCTION_ORDERS = "junction_orders", "Junction: replay webhooks for matching orders"
    JUNCTION_WINDOW = "junction_window", "Junction: replay webhooks for a window"
    CHARGEBEE_FULL = "chargebee_full", "Chargebee: full resend of matching orders"
    RETURNHELPER_INVENTORIES = (
        "returnhelper_inventories",
        "Return Helper: resend matching return inventories",
    )


class BulkState(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    REJECTED = "rejected", "Rejected"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    FINISHED = "finished", "Finished"
    DRY_RUN = "dry_run", "Dry run (nothing sent)"
    SKIPPED = "skipped", "Skipped (the previous run was still going)"


class BulkJob(models.Model):
    State = BulkState
    ACTIVE_STATES = (
        BulkState.AWAITING_APPROVAL,
        BulkState.QUEUED,
        BulkState.RUNNING,
        BulkState.PAUSED,
    )

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bulk_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=10, default="web", help_text="web, cli or schedule.")
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="bulk_jobs")
    kind = models.CharField(max_length=30, choices=BulkKind.choices)
    criteria = models.JSONField(
        default=dict, help_text="The stored filter or window, resolved on the server when it runs."
    )
    saved_filter = models.ForeignKey(
        "resends.SavedFilter",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        help_text="The saved filter the job's criteria were copied from, if any.",
    )
    saved_filter_name = models.CharField(
        max_length=100, blank=True, help_text="Its name when the job was made (kept if deleted)."
    )
    reason_code = models.CharField(max_length=100, blank=True)
    service_type = models.CharField(
        max_length=100, blank=True, help_text="Return Helper: the resend shipment service type."
    )
    note = models.TextField(blank=True)
    dry_run = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=BulkState.choices)
    preview = models.JSONField(
        default=dict, help_text="What the preview counted when the job was created."
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_bulk_jobs",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    schedule_name = models.CharField(max_length=200, blank=True)
    slot = models.DateTimeField(
        null=True, blank=True, help_text="The schedule tick this run is for."
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retries"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Fan-out progress: how far through the matching orders (by primary key) the job has got;
    # for Return Helper, through the customers' orders whose items it resends.
    cursor = models.BigIntegerField(default=0)
    fanout_done = models.BooleanField(default=False)
    considered = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    skip_counts = models.JSONField(default=dict, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    # One live chain of steps: a step carrying another id stops (see services/bulk_run.ring).
    step_id = models.UUIDField(null=True, blank=True)
    stepped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule_name", "slot"],
                condition=~Q(schedule_name=""),
                name="bulk_one_job_per_schedule_slot",
            ),
            models.CheckConstraint(
                condition=Q(state__in=BulkState.values), name="bulk_state_known"
            ),
        ]
        indexes = [models.Index(fields=["state", "-created_at"], name="bulk_state_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (bulk #{self.pk})"
