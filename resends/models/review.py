"""Settling the calls that need review: a manager's decision, and the emails that announce them.

A call goes to "needs review" when its provider cannot tell whether it was applied. A manager
looks at the provider's current state and decides; each decision is a new ReviewDecision row
(who, when, why, the evidence shown), never an edit of an earlier one. The call and its request
then move on from it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .audit import Channel, ProviderCall, ResendRequest


class Decision(models.TextChoices):
    APPLIED = "applied", "It was applied"
    SEND_AGAIN = "send_again", "It was not applied: send it again"
    GIVE_UP = "give_up", "It was not applied: give up"


class ReviewDecision(models.Model):
    Decision = Decision

    call = models.ForeignKey(
        ProviderCall, on_delete=models.PROTECT, related_name="review_decisions"
    )
    request = models.ForeignKey(
        ResendRequest, on_delete=models.PROTECT, related_name="review_decisions"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_decisions"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    why = models.TextField(help_text="What the manager found, in their words.")
    provider_reference = models.CharField(
        max_length=100, blank=True, help_text="The provider's reference of the effect found."
    )
    review_reason = models.TextField(
        blank=True, help_text="Why the call was in review: what the engine could not settle."
    )
    evidence = models.JSONField(
        default=dict, help_text="The provider's current state as shown to the manager."
    )
    evidence_fetched_at = models.DateTimeField(null=True, blank=True)
    call_state_after = models.CharField(max_length=20)

    class Meta:
        ordering = ["-decided_at", "-id"]
        permissions = [("decide_reviewdecision", "Can settle provider calls that need review")]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=Decision.values), name="review_decision_known"
            ),
            models.CheckConstraint(condition=~Q(why=""), name="review_decision_has_why"),
        ]
        indexes = [
            models.Index(fields=["call", "-decided_at"], name="review_call_idx"),
            models.Index(fields=["-decided_at"], name="review_decided_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} (call {self.call_id})"


class ReviewNotice(models.Model):
    """One email to the managers about calls that entered review; at most one per
    REVIEW_NOTICE_INTERVAL_SECONDS."""

    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)
    calls = models.PositiveIntegerField(help_text="Calls that entered review since the last one.")
    recipients = models.PositiveIntegerField()

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"review notice {self.sent_at:%Y-%m-%d %H:%M}"
