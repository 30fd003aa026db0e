"""Managers settle the provider calls that need review (resends/models/review.py): the decision
records, the review notices, and the managers' permissions for them (resends/roles.py lists
these)."""

from django.contrib.auth.management import create_permissions
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


CODENAMES = ("view_reviewdecision", "decide_reviewdecision")


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="resends", codename__in=CODENAMES)
    for group in Group.objects.filter(name="Managers"):
        group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Managers"):
        group.permissions.remove(*group.permissions.filter(codename__in=CODENAMES))


class Migration(migrations.Migration):
    dependencies = [
        ("resends", "0017_order_resent_order_ids"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReviewDecision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "decision",
                    models.CharField(
                        choices=[
                            ("applied", "It was applied"),
                            ("send_again", "It was not applied: send it again"),
                            ("give_up", "It was not applied: give up"),
                        ],
                        max_length=20,
                    ),
                ),
                ("decided_at", models.DateTimeField(auto_now_add=True)),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("web", "Console"),
                            ("cli", "Command line"),
                            ("bulk", "Bulk job"),
                            ("schedule", "Schedule"),
                        ],
                        default="web",
                        max_length=10,
                    ),
                ),
                ("why", models.TextField(help_text="What the manager found, in their words.")),
                (
                    "provider_reference",
                    models.CharField(
                        blank=True,
                        help_text="The provider's reference of the effect found.",
                        max_length=100,
                    ),
                ),
                (
                    "review_reason",
                    models.TextField(
                        blank=True,
                        help_text="Why the call was in review: what the engine could not settle.",
                    ),
                ),
                (
                    "evidence",
                    models.JSONField(
                        default=dict,
                        help_text="The provider's current state as shown to the manager.",
                    ),
                ),
                ("evidence_fetched_at", models.DateTimeField(blank=True, null=True)),
                ("call_state_after", models.CharField(max_length=20)),
            ],
            options={
                "ordering": ["-decided_at", "-id"],
                "permissions": [
                    ("decide_reviewdecision", "Can settle provider calls that need review")
                ],
            },
        ),
        migrations.CreateModel(
            name="ReviewNotice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sent_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "calls",
                    models.PositiveIntegerField(
                        help_text="Calls that entered review since the last one."
                    ),
                ),
                ("recipients", models.PositiveIntegerField()),
            ],
            options={
                "ordering": ["-sent_at"],
            },
        ),
        migrations.AddField(
            model_name="providercall",
            name="repeats",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Times it was sent again after an outcome the provider could not tell (Junction's replays, which are harmless to repeat).",
            ),
        ),
        migrations.AddField(
            model_name="providercall",
            name="review_since",
            field=models.DateTimeField(
                blank=True, help_text="When it last went to needs review.", null=True
            ),
        ),
        migrations.AddIndex(
            model_name="providercall",
            index=models.Index(
                condition=models.Q(("state", "needs_review")),
                fields=["review_since"],
                name="call_in_review_idx",
            ),
        ),
        migrations.AddField(
            model_name="reviewdecision",
            name="call",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="review_decisions",
                to="resends.providercall",
            ),
        ),
        migrations.AddField(
            model_name="reviewdecision",
            name="decided_by",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="review_decisions",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="reviewdecision",
            name="request",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="review_decisions",
                to="resends.resendrequest",
            ),
        ),
        migrations.AddIndex(
            model_name="reviewdecision",
            index=models.Index(fields=["call", "-decided_at"], name="review_call_idx"),
        ),
        migrations.AddIndex(
            model_name="reviewdecision",
            index=models.Index(fields=["-decided_at"], name="review_decided_idx"),
        ),
        migrations.AddConstraint(
            model_name="reviewdecision",
            constraint=models.CheckConstraint(
                condition=models.Q(("decision__in", ["applied", "send_again", "give_up"])),
                name="review_decision_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="reviewdecision",
            constraint=models.CheckConstraint(
                condition=models.Q(("why", ""), _negated=True), name="review_decision_has_why"
            ),
        ),
        migrations.RunPython(grant, revoke),
    ]
