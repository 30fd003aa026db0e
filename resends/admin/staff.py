"""Staff users and roles (Django's own admins), with plain multiple selects for groups and
permissions: the two-pane filter widget Django puts there fails an accessibility scan
(axe-core: aria-prohibited-attr on its search icons).

Each staff member's time zone (StaffProfile): managers set anyone's under "Staff time zones"
(they may not edit users themselves); on a user's own page it is an inline, for superusers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import StaffProfile
from ..models.staff import time_zone_names
from .tables import BoundedInputsAdmin

admin.site.unregister(Group)
admin.site.unregister(User)


class StaffProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label="Time zone",
        error_messages={
            "invalid_choice": "That is not a time zone this site knows: pick one from the list."
        },
    )

    class Meta:
        model = StaffProfile
        fields = ("user", "time_zone")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        field.choices = [(name, name) for name in time_zone_names()]  # type: ignore[attr-defined]
        field.initial = field.initial or settings.STAFF_TIME_ZONE


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    form = StaffProfileForm
    fields = ("time_zone",)
    can_delete = False
    max_num = 1
    verbose_name = "time zone"
    verbose_name_plural = "time zone"


@admin.register(Group)
class RoleAdmin(GroupAdmin):
    filter_horizontal = ()


@admin.register(User)
class StaffAdmin(UserAdmin):
    filter_horizontal = ()
    inlines = (StaffProfileInline,)


@admin.register(StaffProfile)
class StaffTimeZoneAdmin(BoundedInputsAdmin):
    form = StaffProfileForm
    list_display = ("user", "time_zone", "updated_at")
    list_filter = ("time_zone",)
    search_fields = ("user__username", "time_zone")
    ordering = ("user__username",)
    list_select_related = ("user",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffProfile]:
        return super().get_queryset(request).select_related("user")
