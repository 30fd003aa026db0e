"""Local copies of provider data that agents search and pick from. Raw provider strings are kept
as they come: providers add status values without notice and we must not crash on them."""

from django.db import models
from django.db.models.functions import Upper

from .accounts import ProviderAccount


class Order(models.Model):
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=64)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.EmailField(max_length=254, blank=True)
    status = models.CharField(max_length=100, blank=True)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    # Chargebee resend facts (empty for other providers).
    resent_status = models.CharField(max_length=30, blank=True)
    is_resent = models.BooleanField(default=False)
    original_order_id = models.CharField(max_length=64, blank=True)
    resent_order_ids = models.JSONField(
        default=list, blank=True, help_text="The resend orders the provider lists for this one."
    )
    resend_count = models.PositiveSmallIntegerField(
        default=0,
        help_text="Resends used: the provider's resent orders plus ours that succeeded and that it "
        "does not list yet (engine/outcome.py count_resends).",
    )
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-provider_created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], name="order_unique_per_account"
            ),
            models.CheckConstraint(
                condition=~models.Q(external_id=""), name="order_external_id_set"
            ),
        ]
        indexes = [
            models.Index(fields=["external_id"], name="order_external_id_idx"),
            models.Index(fields=["customer_email"], name="order_email_idx"),
            models.Index(fields=["original_order_id"], name="order_original_idx"),
            # Name prefix searches read (name, created, id) from the index alone, newest first.
            models.Index(
                Upper("customer_name"),
                models.F("provider_created_at"),
                models.F("id"),
                name="order_name_created_idx",
            ),
            models.Index(fields=["-provider_created_at", "-id"], name="order_created_idx"),
            models.Index(fields=["account", "provider_updated_at"], name="order_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id

    def save(self, *args: object, **kwargs: object) -> None:
        self.customer_email = self.customer_email.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class LineItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="line_items")
    external_id = models.CharField(max_length=64)
    description = models.CharField(max_length=300, blank=True)
    sku = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField(help_text="Chargebee fulfillment_quantity.")
    status = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="line_unique_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} × {self.quantity}"


class ReturnInventory(models.Model):
    """A returned item held at a Return Helper warehouse (from `newInventoryCreated`)."""

    account = models.ForeignKey(
        ProviderAccount, on_delete=models.PROTECT, related_name="inventories"
    )
    external_id = models.CharField(max_length=32, help_text="returnInventoryId")
    warehouse_id = models.CharField(max_length=32)
    handling_code = models.CharField(max_length=10, help_text="tbc, rtn, dis, rsd, ohd, oth")
    handling_status_code = models.CharField(max_length=20, blank=True)
    rma = models.CharField(max_length=64, blank=True)
    sku = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=300, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    in_stock = models.BooleanField(default=True)
    pending_vas = models.BooleanField(default=False)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="inventories"
    )
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-provider_created_at", "-id"]
        verbose_name_plural = "return inventories"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], name="inventory_unique_per_account"
            ),
        ]
        indexes = [
            models.Index(fields=["rma"], name="inventory_rma_idx"),
            models.Index(fields=["external_id"], name="inventory_external_id_idx"),
            models.Index(
                fields=["account", "warehouse_id", "handling_code"], name="inventory_pick_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.rma})" if self.rma else self.external_id
