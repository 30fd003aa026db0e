from django.apps import AppConfig


class ResendsConfig(AppConfig):
    name = "resends"
    verbose_name = "Resends"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .accounts import ensure_default_accounts

        post_migrate.connect(ensure_default_accounts, sender=self)
