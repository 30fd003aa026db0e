"""Named bulk-job filters that managers save from the new-bulk-job page and start jobs from (in
the console, with `bulk_job --filter NAME`, or from a schedule). A job keeps its own copy of the
criteria it ran with, and which saved filter it came from."""

from django.conf import settings
from django.db import models

from .accounts import ProviderAccount
from .bulk import BulkKind


class SavedFilter(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=30, choices=BulkKind.choices)
    account = models.ForeignKey(
        ProviderAccount, on_delete=models.PROTECT, related_name="saved_filters"
    )
    criteria = models.JSONField(
        default=dict, help_text="The stored filter, as a bulk job of this kind reads it."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="saved_filters"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who last saved it (a schedule naming it runs what they saved).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="saved_filter_named"),
        ]

    def __str__(self) -> str:
        return self.name
