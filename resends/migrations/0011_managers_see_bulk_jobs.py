"""Managers may view bulk jobs in the admin (resends/roles.py lists it from now on)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.get(content_type__app_label="resends", codename="view_bulkjob")
    for group in Group.objects.filter(name="Managers"):
        group.permissions.add(view)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Managers"):
        group.permissions.remove(*group.permissions.filter(codename="view_bulkjob"))


class Migration(migrations.Migration):
    dependencies = [
        ("resends", "0010_bulk_progress"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
