"""Counts kept for /metrics, so that a scrape reads a few small rows instead of 3M calls."""

from django.db import models

from .accounts import ProviderAccount


class CallCount(models.Model):
    """Provider calls by account, operation, state and error class, as signed deltas.

    Written only by database triggers on the provider-call table (resends/call_counts.py): a new
    call adds +1 to its key, a change of state (or error class) adds -1 to the old key and +1 to
    the new, in the same transaction as the change, whichever code made it. Appending rows
    instead of updating one row per key means concurrent workers never wait on each other (nor
    deadlock); beat folds the rows into one per key every minute. The count of a key is the sum
    of its rows."""

    account = models.ForeignKey(
        ProviderAccount,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # no key check (nor its row lock) on every call's change
        db_index=False,
        related_name="+",
    )
    operation = models.CharField(max_length=40)
    state = models.CharField(max_length=20)
    error_class = models.CharField(max_length=10, blank=True)
    n = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.operation} {self.state} {self.n:+d}"


class SharedCounter(models.Model):
    """A counter every process adds to (webhooks received and refused, rate-budget waits), for
    deployments without Redis; with Redis they live there (resends/counters.py)."""

    name = models.CharField(max_length=60)
    labels = models.CharField(max_length=200, help_text="The labels, as canonical JSON.")
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "labels"], name="shared_counter_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.labels} = {self.value}"
