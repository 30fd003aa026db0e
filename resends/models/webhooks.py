from django.db import models

from .accounts import Provider, ProviderAccount


class WebhookEvent(models.Model):
    """A webhook we accepted. `dedupe_key` makes a redelivered or replayed event a no-op."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="webhooks")
    dedupe_key = models.CharField(max_length=128)
    event_type = models.CharField(max_length=60)
    received_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField()
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "dedupe_key"], name="webhook_once"),
        ]
        indexes = [models.Index(fields=["-received_at"], name="webhook_received_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.dedupe_key[:12]}"
