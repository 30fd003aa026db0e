"""Admin for bulk jobs (read-only audit) and for schedules (django-celery-beat's periodic tasks,
with the timezone they run in and each schedule's run history)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from .models import BulkJob

RUN_HISTORY = 20


@admin.register(BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "state",
        "created_by",
        "approved_by",
        "schedule_name",
        "slot",
        "created_at",
    )
    list_filter = ("state", "kind", "channel", "dry_run")
    search_fields = ("=public_id", "schedule_name", "=created_by__username")
    date_hierarchy = "created_at"
    list_select_related = ("created_by", "approved_by", "account")
    readonly_fields = [f.name for f in BulkJob._meta.fields] + ["console_link"]

    @admin.display(description="Console")
    def console_link(self, job: BulkJob) -> str:
        return format_html(
            '<a href="{}">Progress and actions</a>',
            reverse("resends:bulk-job", args=[job.public_id]),
        )

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class ScheduleAdmin(PeriodicTaskAdmin):
    """Beat's periodic tasks, plus the timezone (all times are in it) and the runs each made."""

    list_display = ("name", "enabled", "scheduler", "timezone", "last_run_at", "runs")
    readonly_fields = (*PeriodicTaskAdmin.readonly_fields, "timezone", "run_history")
    fieldsets = (
        *PeriodicTaskAdmin.fieldsets,
        ("Runs", {"fields": ("timezone", "run_history")}),
    )

    @admin.display(description="Timezone")
    def timezone(self, task: PeriodicTask) -> str:
        crontab = task.crontab
        return str(crontab.timezone) if crontab is not None else settings.CELERY_TIMEZONE

    @admin.display(description="Runs")
    def runs(self, task: PeriodicTask) -> int:
        return BulkJob.objects.filter(schedule_name=task.name).count()

    @admin.display(description=f"Last {RUN_HISTORY} runs")
    def run_history(self, task: PeriodicTask) -> str:
        jobs = BulkJob.objects.filter(schedule_name=task.name).order_by("-slot")[:RUN_HISTORY]
        if not jobs:
            return "No runs yet."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{} UTC</a>: {}</li>',
                (
                    (
                        reverse("resends:bulk-job", args=[job.public_id]),
                        f"{job.slot:%Y-%m-%d %H:%M}",
                        job.get_state_display(),
                    )
                    for job in jobs
                ),
            ),
        )
