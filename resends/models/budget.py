from django.db import models

from .accounts import ProviderAccount


class RateBudgetState(models.Model):
    """The shared request budget of one provider account, for deployments without Redis (the
    embedded default). With Redis the same state lives there; see resends/engine/budget.py."""

    account = models.OneToOneField(
        ProviderAccount, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    next_free_at = models.FloatField(default=0.0, help_text="Unix time the next request may go.")
    cooldown_until = models.FloatField(default=0.0, help_text="After a 429: nobody sends before.")
    departures = models.JSONField(
        default=list, blank=True, help_text="Unix times of the requests sent in the last second."
    )
    priority_until = models.FloatField(
        default=0.0, help_text="A single resend is waiting: bulk work holds back until then."
    )

    def __str__(self) -> str:
        return f"budget of {self.account_id}"
