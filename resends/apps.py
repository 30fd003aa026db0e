from django.apps import AppConfig


class ResendsConfig(AppConfig):
    name = "resends"
    verbose_name = "Resends"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .accounts import ensure_default_accounts

        post_migrate.connect(ensure_default_accounts, sender=self)
        post_migrate.connect(_ensure_call_count_triggers, sender=self)


def _ensure_call_count_triggers(using: str = "default", **_: object) -> None:
    from .services import call_counts

    call_counts.ensure_installed(using)
