from typing import Any

from django.conf import settings
from django.contrib.admin.apps import AdminConfig
from django.core import checks


class BackofficeAdminConfig(AdminConfig):
    """django.contrib.admin with our site (admin_site.py) as the default one; the project's own
    deploy checks."""

    default_site = "backoffice.admin_site.BackofficeAdminSite"

    def ready(self) -> None:
        super().ready()
        checks.register(metrics_token_set, checks.Tags.security, deploy=True)


def metrics_token_set(**_: Any) -> list[checks.CheckMessage]:
    if settings.METRICS_TOKEN:
        return []
    return [
        checks.Warning(
            "METRICS_TOKEN is not set, so /metrics answers 404 and nothing can be scraped.",
            hint="Set METRICS_TOKEN to a random string of 32 characters or more.",
            id="backoffice.W001",
        )
    ]
