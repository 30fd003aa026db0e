"""Counts kept for /metrics, so that a scrape reads a few small rows instead of 3M calls."""

from django.db import models

from .accounts import ProviderAccount


class CallCount(models.Model):
    """Provider calls by account, operation, state and error class, as last folded by beat; the
    changes since are CallCountChange rows. The count of a key is its `n` plus its changes.

    Kept by database triggers on the provider-call table (resends/services/call_counts.py), so
    every change of a call's state is counted whichever code makes it, in the same transaction."""

    account = models.ForeignKey(
        ProviderAccount,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    operation = models.CharField(max_length=40)
    state = models.CharField(max_length=20)
    error_class = models.CharField(max_length=10, blank=True)
    n = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "operation", "state", "error_class"], name="call_count_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.state}: {self.n}"


class CallCountChange(models.Model):
    """+1 for a new call's key; -1 for the old key and +1 for the new one when a call changes
    state (or error class). Written only by the triggers, in the transaction of the change.
    Appended rather than added to one row per key, so concurrent workers never wait on each
    other (nor deadlock); beat folds them into CallCount every minute."""

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
    n = models.SmallIntegerField()

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
