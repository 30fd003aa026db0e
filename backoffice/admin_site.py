"""The admin site: the audit for managers, in the width of a laptop screen.

Installed as Django's default site by `backoffice.apps.BackofficeAdminConfig` (INSTALLED_APPS), so
`admin.site` and `@admin.register` everywhere, django-celery-beat's included, use it. It lives
outside `resends.admin`: importing that package registers ModelAdmins on `admin.site`, which
would build the default site while its own class was still being imported.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from resends.roles import can_use_console


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Resend back office: audit"
    site_title = "Resend audit"
    index_title = "Audit and configuration"
    # The app list beside every page took a fifth of a 1366-pixel screen from the lists; the
    # index and the breadcrumbs lead to the same places.
    enable_nav_sidebar = False

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Someone signed in to the console but not allowed here goes back to the console.

        The admin sends anyone it refuses to its login page; for an agent that page says only
        "not authorized", in another style, with no way back. A POST still signs in as someone
        else.
        """
        user = request.user
        if request.method == "GET" and not self.has_permission(request) and can_use_console(user):
            messages.info(
                request,
                f"The admin is for managers; you are signed in as {user.get_username()}. "
                "Here is the console.",
            )
            return redirect("resends:find")
        response: HttpResponse = super().login(request, extra_context)
        return response
