"""Create the two roles (a frozen copy of resends/roles.py at this point in history).

 Permission rows normally appear after all migrations (post_migrate), so
this migration asks for them to be created first."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENTS = "Customer service"
MANAGERS = "Managers"
AGENT_PERMISSIONS = [
    "resends.view_provideraccount",
    "resends.view_order",
    "resends.view_lineitem",
    "resends.view_returninventory",
    "resends.add_resendrequest",
]
MANAGER_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    "resends.view_resendrequest",
    "resends.view_resendtarget",
    "resends.view_providercall",
    "resends.view_callattempt",
    "resends.approve_resendrequest",
    "django_celery_beat.view_periodictask",
    "django_celery_beat.add_periodictask",
    "django_celery_beat.change_periodictask",
    "django_celery_beat.delete_periodictask",
    "django_celery_beat.view_crontabschedule",
    "django_celery_beat.add_crontabschedule",
    "django_celery_beat.change_crontabschedule",
    "django_celery_beat.view_intervalschedule",
    "django_celery_beat.add_intervalschedule",
    "django_celery_beat.change_intervalschedule",
]


def _permissions(apps, names):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    agents, _ = Group.objects.get_or_create(name=AGENTS)
    agents.permissions.set(_permissions(apps, AGENT_PERMISSIONS))
    managers, _ = Group.objects.get_or_create(name=MANAGERS)
    managers.permissions.set(_permissions(apps, MANAGER_PERMISSIONS))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[AGENTS, MANAGERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("resends", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
