"""Links out of the console, built in one place: provider dashboards (from each account's
templates), Return Helper labels, and carriers' tracking pages.

Every id is URL-escaped before it goes into a template, so an id can never add a path segment, a
query or a fragment of its own. A template that is empty, or that no longer checks out (an
account edited outside the admin), gives no link rather than a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.core.exceptions import ValidationError

from .models import ProviderAccount, ProviderCall
from .models.accounts import check_link_template

Op = ProviderCall.Operation

# Carriers' public tracking pages, by the carrier code found in a shipment service type
# ("SHIPMENT_USPS_GA_SIG_NJ" is USPS). A carrier not listed here shows its number as plain text.
CARRIER_TRACKING: dict[str, tuple[str, str]] = {
    "USPS": ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={id}"),
    "UPS": ("UPS", "https://www.ups.com/track?tracknum={id}"),
    "FEDEX": ("FedEx", "https://www.fedex.com/fedextrack/?trknbr={id}"),
    "DHL": ("DHL", "https://www.dhl.com/global-en/home/tracking.html?tracking-id={id}"),
    "DPD": ("DPD", "https://tracking.dpd.de/status/en_US/parcel/{id}"),
    "GLS": ("GLS", "https://gls-group.com/track/{id}"),
    "ROYALMAIL": ("Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{id}"),
}


@dataclass(frozen=True)
class Link:
    url: str
    label: str


def _expand(template: str, account: ProviderAccount, external_id: str) -> str | None:
    if not template or not external_id:
        return None
    try:
        check_link_template(template)
    except ValidationError:
        return None
    return template.format(id=quote(external_id, safe=""), environment=account.environment)


def order_url(account: ProviderAccount, external_id: str) -> str | None:
    """The provider's dashboard page of an order (a Chargebee or Junction order id)."""
    return _expand(account.order_url_template, account, external_id)


def resend_url(account: ProviderAccount, resend_id: str) -> str | None:
    """The provider's dashboard page of a Return Helper resend."""
    return _expand(account.resend_url_template, account, resend_id)


def label_url(account: ProviderAccount, call: ProviderCall) -> str | None:
    """The shipping label of a Return Helper resend: the address the provider gave (only an
    http(s) one), or the account's label template with the label id its webhook brought."""
    if call.label_url and urlsplit(call.label_url).scheme in ("http", "https"):
        return call.label_url
    return _expand(account.label_url_template, account, call.label_id)


def carrier_of(service_type: str) -> str | None:
    """The carrier code in a shipment service type, or None when none is known."""
    for token in (service_type or "").upper().replace("-", "_").split("_"):
        if token in CARRIER_TRACKING:
            return token
    return None


def tracking_link(service_type: str, tracking_number: str) -> Link | None:
    """The carrier's tracking page for a number, or None (an unknown carrier: plain text)."""
    carrier = carrier_of(service_type)
    if carrier is None or not tracking_number:
        return None
    name, template = CARRIER_TRACKING[carrier]
    return Link(template.format(id=quote(tracking_number, safe="")), f"Track with {name}")


def result_link(account: ProviderAccount, call: ProviderCall) -> Link | None:
    """Where the result of a settled call lives at the provider: Chargebee's new order, Return
    Helper's resend. Junction's replays create nothing to link to."""
    if not call.provider_reference:
        return None
    if call.operation == Op.CHARGEBEE_RESEND_ORDER:
        url = order_url(account, call.provider_reference)
        return Link(url, "Open the new order in Chargebee") if url else None
    if call.operation == Op.RETURNHELPER_CREATE_RESEND:
        url = resend_url(account, call.provider_reference)
        return Link(url, "Open the resend in Return Helper") if url else None
    return None


@dataclass(frozen=True)
class CallLinks:
    """Everything a settled call links to."""

    result: Link | None = None  # the provider's page of what it created
    new_order_pk: int | None = None  # Chargebee's new order, when our mirror has it
    label: str | None = None
    tracking: Link | None = None


def call_links(
    account: ProviderAccount, call: ProviderCall, *, service_type: str, mirrored: dict[str, int]
) -> CallLinks:
    """`service_type`: the resend's shipment service (its carrier); `mirrored`: our order pks by
    Chargebee order id."""
    new_order = None
    if call.operation == Op.CHARGEBEE_RESEND_ORDER and call.provider_reference:
        new_order = mirrored.get(call.provider_reference)
    return CallLinks(
        result=result_link(account, call),
        new_order_pk=new_order,
        label=label_url(account, call),
        tracking=tracking_link(service_type, call.tracking_number),
    )
