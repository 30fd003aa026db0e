"""Staff users and roles (Django's own admins), with plain multiple selects for groups and
permissions: the two-pane filter widget Django puts there fails an accessibility scan
(axe-core: aria-prohibited-attr on its search icons)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

admin.site.unregister(Group)
admin.site.unregister(User)


@admin.register(Group)
class RoleAdmin(GroupAdmin):
    filter_horizontal = ()


@admin.register(User)
class StaffAdmin(UserAdmin):
    filter_horizontal = ()
