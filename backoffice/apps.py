from django.contrib.admin.apps import AdminConfig


class BackofficeAdminConfig(AdminConfig):
    """django.contrib.admin with our site (admin_site.py) as the default one."""

    default_site = "backoffice.admin_site.BackofficeAdminSite"
