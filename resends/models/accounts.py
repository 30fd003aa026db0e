import string
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

# What a link template may name: `{id}` is the order, resend or label id (URL-escaped when the
# link is built), `{environment}` the account's environment field (a Chargebee site name, say).
LINK_PLACEHOLDERS = frozenset({"id", "environment"})
LINK_TEMPLATE_HELP = (
    "Optional. An http(s) address with {id} (URL-escaped) and optionally {environment}, "
    "e.g. https://acme-test.chargebee.com/d/orders/{id}. Empty: no link."
)


def check_link_template(template: str) -> None:
    """A link template must be an http(s) address naming only LINK_PLACEHOLDERS, {id} among
    them, with no format specs or conversions; raises ValidationError otherwise."""
    if not template:
        return
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValidationError(f"Unbalanced braces: {error}.", code="braces") from error
    names = set()
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in LINK_PLACEHOLDERS or spec or conversion:
            known = ", ".join(f"{{{n}}}" for n in sorted(LINK_PLACEHOLDERS))
            raise ValidationError(
                f"Unknown placeholder {{{name}}}; use only {known}.", code="placeholder"
            )
        names.add(name)
    if "id" not in names:
        raise ValidationError("The template must contain {id}.", code="no_id")
    sample = template.format(id="ord_1", environment="site")
    if urlsplit(sample).scheme not in ("http", "https"):
        raise ValidationError("The link must start with https:// or http://.", code="scheme")
    try:
        URLValidator(schemes=["http", "https"])(sample)
    except ValidationError as error:
        raise ValidationError("This is not a valid web address.", code="url") from error


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
    order_url_template = models.CharField(
        "Dashboard link for an order",
        max_length=300,
        blank=True,
        validators=[check_link_template],
        help_text=LINK_TEMPLATE_HELP,
    )
    resend_url_template = models.CharField(
        "Dashboard link for a resend",
        max_length=300,
        blank=True,
        validators=[check_link_template],
        help_text="Return Helper's resend id as {id}. " + LINK_TEMPLATE_HELP,
    )
    label_url_template = models.CharField(
        "Link to a shipping label",
        max_length=300,
        blank=True,
        validators=[check_link_template],
        help_text="Return Helper's shipment label id as {id}. " + LINK_TEMPLATE_HELP,
    )
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
