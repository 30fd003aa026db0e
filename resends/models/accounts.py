from django.db import models


class Provider(models.TextChoices):
    JUNCTION = "junction", "Junction"
    CHARGEBEE = "chargebee", "Chargebee"
    RETURNHELPER = "returnhelper", "Return Helper"


class ProviderAccount(models.Model):
    """One set of credentials at one provider (a Junction US team, a Chargebee site...).

    Secrets never live here: `env_prefix` names the environment variables that hold them
    (JUNCTION -> JUNCTION_API_KEY, JUNCTION_EU -> JUNCTION_EU_API_KEY).
    """

    provider = models.CharField(max_length=20, choices=Provider.choices)
    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=100)
    environment = models.CharField(
        max_length=40, blank=True, help_text="Region or environment, e.g. 'sandbox-us' or 'eu'."
    )
    env_prefix = models.CharField(max_length=40)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["provider", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider"],
                condition=models.Q(is_default=True),
                name="one_default_account_per_provider",
            ),
            models.CheckConstraint(
                condition=models.Q(provider__in=Provider.values), name="account_provider_known"
            ),
        ]

    def __str__(self) -> str:
        return self.label
