"""Admin for bulk jobs and saved filters (read-only audit) and for schedules (django-celery-beat's
periodic tasks, with the timezone they run in and each schedule's run history)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from ..models import BulkJob, SavedFilter
from .tables import BoundedChangeList, BoundedInputsAdmin, ReadOnlyAdminMixin

RUN_HISTORY = 20


@admin.register(BulkJob)
class BulkJobAdmin(ReadOnlyAdminMixin, BoundedInputsAdmin):
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
    search_fields = ("=public_id", "schedule_name", "saved_filter_name", "=created_by__username")
    date_hierarchy = "created_at"
    list_select_related = ("created_by", "approved_by", "account")
    readonly_fields = [f.name for f in BulkJob._meta.fields] + ["console_link"]

    @admin.display(description="Console")
    def console_link(self, job: BulkJob) -> str:
        return format_html(
            '<a href="{}">Progress and actions</a>',
            reverse("resends:bulk-job", args=[job.public_id]),
        )


@admin.register(SavedFilter)
class SavedFilterAdmin(ReadOnlyAdminMixin, BoundedInputsAdmin):
    """Saved on the new-bulk-job page by managers; here to audit them and the jobs they made."""

    list_display = (
        "name", "kind", "account", "created_by", "updated_by", "updated_at", "runs",
    )  # fmt: skip
    list_filter = ("kind", "account")
    search_fields = ("name", "=created_by__username", "=updated_by__username")
    list_select_related = ("account", "created_by", "updated_by")
    readonly_fields = [f.name for f in SavedFilter._meta.fields] + ["use_link", "recent_jobs"]

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).annotate(job_count=Count("jobs"))

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # Managers may drop a filter nobody should use any more; the jobs it made keep its name
        # and their own copy of its criteria, and the admin log records who deleted it.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    @admin.display(description="Jobs", ordering="job_count")
    def runs(self, saved: Any) -> int:
        return int(saved.job_count)

    @admin.display(description="Console")
    def use_link(self, saved: SavedFilter) -> str:
        url = f"{reverse('resends:bulk-new')}?{urlencode({'filter': saved.name})}"
        return format_html('<a href="{}">Start a bulk job from it</a>', url)

    @admin.display(description=f"Last {RUN_HISTORY} jobs")
    def recent_jobs(self, saved: SavedFilter) -> str:
        jobs = saved.jobs.order_by("-created_at")[:RUN_HISTORY]
        if not jobs:
            return "No jobs yet."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">#{}</a> {}: {}</li>',
                (
                    (
                        reverse("resends:bulk-job", args=[job.public_id]),
                        job.pk,
                        f"{timezone.localtime(job.created_at):%Y-%m-%d %H:%M %Z}",
                        job.get_state_display(),
                    )
                    for job in jobs
                ),
            ),
        )


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

    def get_changelist(self, request: Any, **kwargs: Any) -> type[BoundedChangeList]:
        return BoundedChangeList

    def get_queryset(self, request: Any) -> Any:
        runs = (
            BulkJob.objects.filter(schedule_name=OuterRef("name"))
            .order_by()
            .values("schedule_name")
            .annotate(n=Count("pk"))
            .values("n")
        )
        rows = super().get_queryset(request).select_related("crontab")
        return rows.annotate(run_count=Coalesce(Subquery(runs), 0))

    @admin.display(description="Timezone")
    def timezone(self, task: PeriodicTask) -> str:
        crontab = task.crontab
        return str(crontab.timezone) if crontab is not None else settings.CELERY_TIMEZONE

    @admin.display(description="Runs", ordering="run_count")
    def runs(self, task: Any) -> int:
        return int(task.run_count)

    @admin.display(description=f"Last {RUN_HISTORY} runs")
    def run_history(self, task: PeriodicTask) -> str:
        if task.pk is None or not task.name:
            # The add page: an unsaved task's empty name would match every console job, which
            # has no schedule name and no slot.
            return "No runs yet."
        jobs = BulkJob.objects.filter(schedule_name=task.name).order_by("-slot")[:RUN_HISTORY]
        if not jobs:
            return "No runs yet."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a>: {}</li>',
                (
                    (
                        reverse("resends:bulk-job", args=[job.public_id]),
                        f"{timezone.localtime(job.slot):%Y-%m-%d %H:%M %Z}",
                        job.get_state_display(),
                    )
                    for job in jobs
                ),
            ),
        )
