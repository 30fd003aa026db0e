"""Forms for the console. They only parse and shape input; the provider rules live in rules.py
and are applied by the preview and submit services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from django import forms
from django.utils import timezone

from .. import rules
from ..checks import chargebee_today
from ..inputs import DATES_ALLOWED, TICKET_MAX, TICKET_RULE, parse_id, parse_ticket, within_dates
from ..models import LineItem, Order, Provider, ProviderAccount, ReturnInventory
from ..models.audit import RequestState, ResendKind
from ..selectors.search import ID_SPLIT, Filters


def new_token() -> str:
    return str(uuid.uuid4())


class TokenField(forms.UUIDField):
    """The one-time form token: a second submit of the same page is the same intent."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            error_messages={"required": "This page has expired; reload it and try again."},
            **kwargs,
        )


class BoundedDateField(forms.DateField):
    """A date within inputs.EARLIEST_DATE..LATEST_DATE (Python's own range ends in year 9999,
    and the day after 9999-12-31 is an OverflowError)."""

    def to_python(self, value: Any) -> Any:
        result = super().to_python(value)
        if result is not None and not within_dates(result):
            raise forms.ValidationError(f"Enter {DATES_ALLOWED}.", code="out_of_range")
        return result


class TicketField(forms.CharField):
    """An optional helpdesk ticket reference (inputs.parse_ticket)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Helpdesk ticket (optional)")
        kwargs.setdefault("help_text", "e.g. ABC-123: the audit, the CSV and the search find it.")
        super().__init__(required=False, max_length=TICKET_MAX + 20, **kwargs)
        self.widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        ticket = parse_ticket(text)
        if ticket is None:
            raise forms.ValidationError(TICKET_RULE, code="invalid_ticket")
        return ticket


def ticket_from(query: Any) -> tuple[str, str]:
    """The ticket a deep link prefills (`?ticket=`), and an error when it is not one."""
    raw = query.get("ticket", "") if hasattr(query, "get") else ""
    ticket = parse_ticket(raw if isinstance(raw, str) else "")
    if ticket is None:
        return "", f"The ticket in the link was not used. {TICKET_RULE}"
    return ticket, ""


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Row ids read with inputs.parse_id before they reach the database: "²" or a number past 64
    bits is simply not one of the choices (Django's own field lets the query overflow)."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            ids = [parse_id(str(pk)) for pk in value]
            for pk, parsed in zip(value, ids, strict=True):
                if parsed is None:
                    raise forms.ValidationError(
                        self.error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": str(pk)[:40]},
                    )
            value = ids
        return super().clean(value)


class ActiveAccountField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ProviderAccount) -> str:
        return f"{obj.get_provider_display()}: {obj.label}"


def accounts(provider: str | None = None) -> Any:
    qs = ProviderAccount.objects.filter(is_active=True).order_by("provider", "label")
    return qs.filter(provider=provider) if provider else qs


class SearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Order id, email, name, RMA, tracking, resend number or ticket",
                "autofocus": True,
                "autocomplete": "off",
            }
        ),
    )
    account = ActiveAccountField(queryset=accounts(), required=False, empty_label="All providers")
    status = forms.CharField(required=False, max_length=100, label="Order status")
    created_from = BoundedDateField(
        required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = BoundedDateField(
        required=False, label="Created to", widget=forms.DateInput(attrs={"type": "date"})
    )
    ids = forms.CharField(
        required=False,
        label="Paste a list of order ids",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "One id per line, or separated by commas"}
        ),
    )

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            query=data["q"],
            account_id=data["account"].pk if data["account"] else None,
            status=data["status"].strip(),
            created_from=data["created_from"],
            created_to=data["created_to"],
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", "The end date is before the start date.")
        return data


class ChargebeeResendForm(forms.Form):
    MODE_CHOICES = [("partial", "Some lines (partial)"), ("full", "The whole order (full)")]

    token = TokenField()
    mode = forms.ChoiceField(choices=MODE_CHOICES, widget=forms.RadioSelect, initial="partial")
    shipping_date = BoundedDateField(
        required=False,
        label="Ship on (optional)",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to ship as soon as possible.",
    )
    reason = forms.ChoiceField(label="Reason code", required=False)
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )
    ticket = TicketField()
    customer_email = forms.BooleanField(
        required=False,
        initial=True,
        label="Chargebee emails the customer about this resend",
    )
    webhooks = forms.BooleanField(
        required=False,
        initial=True,
        label="Chargebee sends webhooks about this resend",
        help_text="Off: our copy of the order updates at the next sync instead of at once.",
    )

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shipping_date"].help_text = (
            "Leave empty to ship as soon as possible. A day as Chargebee counts it, in UTC "
            f"whatever your time zone (today there: {chargebee_today():%Y-%m-%d})."
        )
        self.order = order
        self.lines = list(order.line_items.all())
        codes = rules.chargebee_reason_codes()
        blank = "Pick a reason" if rules.chargebee_reason_mandatory() else "No reason code"
        reason = cast(forms.ChoiceField, self.fields["reason"])
        reason.choices = [("", blank), *((c, c) for c in codes)]
        self.fields["reason"].required = rules.chargebee_reason_mandatory()
        for line in self.lines:
            self.fields[f"pick_{line.pk}"] = forms.BooleanField(required=False, label="Resend")
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                required=False, min_value=0, initial=line.quantity, label="Quantity"
            )

    def line_fields(self) -> list[tuple[LineItem, forms.BoundField, forms.BoundField]]:
        return [(line, self[f"pick_{line.pk}"], self[f"qty_{line.pk}"]) for line in self.lines]

    def picked_lines(self) -> list[tuple[LineItem, int]] | None:
        """None for a full resend, else (line, quantity) for each ticked line."""
        if self.cleaned_data.get("mode") == "full":
            return None
        picked = []
        for line in self.lines:
            if self.cleaned_data.get(f"pick_{line.pk}"):
                qty = self.cleaned_data.get(f"qty_{line.pk}")
                picked.append((line, line.quantity if qty is None else qty))
        return picked

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("mode") == "partial" and not any(
            data.get(f"pick_{line.pk}") for line in self.lines
        ):
            raise forms.ValidationError("Tick at least one line, or choose the whole order.")
        return data


SHIPMENT_FIELDS = (
    ("shipmentName", "Name", True),
    ("shipmentStreet1", "Street", True),
    ("shipmentStreet2", "Street (line 2)", False),
    ("shipmentCity", "City", True),
    ("shipmentState", "State or region", False),
    ("shipmentPostalCode", "Postal code", False),
    ("shipmentPhone", "Phone", False),
    ("shipmentEmail", "Email", False),
)


class ReturnHelperResendForm(forms.Form):
    service_warehouse = ""  # set by the view: the warehouse whose services are listed
    token = TokenField()
    inventories = BoundedModelMultipleChoiceField(
        queryset=ReturnInventory.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={"invalid_choice": "That item is not one of the items listed here."},
    )
    shipmentCountryCode = forms.ChoiceField(label="Country", required=False)
    shipmentServiceType = forms.ChoiceField(label="Service type", required=False)
    note = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Note (sent to Return Helper as remarks)",
    )
    ticket = TicketField()

    def __init__(
        self,
        *args: Any,
        candidates: list[ReturnInventory],
        countries: list[tuple[str, str]] | None,
        service_types: list[tuple[str, str]] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = candidates
        self.countries = countries
        self.service_types = service_types
        inventories = cast(BoundedModelMultipleChoiceField, self.fields["inventories"])
        inventories.queryset = ReturnInventory.objects.filter(pk__in=[c.pk for c in candidates])
        for name, label, required in SHIPMENT_FIELDS:
            limit = rules.RETURNHELPER_FIELD_LIMITS.get(name)
            self.fields[name] = forms.CharField(
                label=f"{label} *" if required else label,
                required=False,  # the rules report a missing one in the preview, in plain words
                max_length=limit,
                strip=True,
            )
            if required:
                self.fields[name].widget.attrs["aria-required"] = "true"
        self.order_fields(
            ["token", "inventories", *(n for n, _, _ in SHIPMENT_FIELDS), "shipmentCountryCode",
             "shipmentServiceType", "note", "ticket"]
        )  # fmt: skip
        country_choices = [("", "Pick a country")]
        if countries is None:
            country_choices = [("", "Country list unavailable — reload to try again")]
        cast(forms.ChoiceField, self.fields["shipmentCountryCode"]).choices = country_choices + [
            (code, f"{name} ({code.upper()})") for code, name in countries or []
        ]
        service_choices = [
            ("", "Pick a country first" if service_types is None else "Pick a service")
        ]
        cast(forms.ChoiceField, self.fields["shipmentServiceType"]).choices = service_choices + [
            (code, f"{name} ({code})") for code, name in service_types or []
        ]

    def shipment(self) -> dict[str, str]:
        data = self.cleaned_data
        fields = [n for n, _, _ in SHIPMENT_FIELDS] + ["shipmentCountryCode", "shipmentServiceType"]
        return {name: (data.get(name) or "").strip() for name in fields}

    def countries_codes(self) -> list[str] | None:
        return None if self.countries is None else [code for code, _ in self.countries]

    def service_codes(self) -> list[str] | None:
        return None if self.service_types is None else [code for code, _ in self.service_types]

    def picked(self) -> list[ReturnInventory]:
        chosen = {inv.pk for inv in self.cleaned_data.get("inventories") or []}
        return [c for c in self.candidates if c.pk in chosen]


class JunctionOrdersForm(forms.Form):
    token = TokenField()
    account = ActiveAccountField(queryset=accounts(Provider.JUNCTION), empty_label=None)
    order_ids = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Junction order ids",
        help_text="One per line (or separated by commas).",
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )
    ticket = TicketField()

    def ids(self) -> list[str]:
        return [t for t in ID_SPLIT.split(self.cleaned_data["order_ids"]) if t]


class LocalDateTimeField(forms.DateTimeField):
    """A browser datetime-local value, read in the staff member's time zone (the current one,
    which resends.middleware sets) and returned in UTC; shown back in that zone. A time the zone
    skips or repeats (a daylight-saving change) is a form error, not a guess."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> datetime | None:
        result = super().to_python(value)  # aware: Django reads a naive value in the current zone
        if result is None:
            return None
        if not within_dates(result):  # before astimezone, which year 9999 could overflow
            raise forms.ValidationError(f"Enter {DATES_ALLOWED}.", code="out_of_range")
        return result.astimezone(UTC)


def in_time_zone(label: str) -> str:
    """A time field's label naming the zone its value is read in: "Start (Europe/Berlin)"."""
    return f"{label} ({timezone.get_current_timezone_name()})"


class JunctionWindowForm(forms.Form):
    token = TokenField()
    account = ActiveAccountField(queryset=accounts(Provider.JUNCTION), empty_label=None)
    start = LocalDateTimeField(label="Start")
    end = LocalDateTimeField(label="End", required=False, help_text="Empty means now.")
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )
    ticket = TicketField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["start"].label = in_time_zone("Start")
        self.fields["end"].label = in_time_zone("End")


class RequestListForm(forms.Form):
    SCOPES = [("mine", "My resends"), ("all", "All recent resends")]

    scope = forms.ChoiceField(choices=SCOPES, required=False)
    state = forms.ChoiceField(choices=[("", "Any state"), *RequestState.choices], required=False)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *ResendKind.choices], required=False)
    account = ActiveAccountField(queryset=accounts(), required=False, empty_label="All providers")
    days = forms.TypedChoiceField(
        choices=[
            (1, "Last 24 hours"),
            (7, "Last 7 days"),
            (30, "Last 30 days"),
            (365, "Last year"),
        ],
        coerce=int,
        required=False,
        empty_value=7,  # type: ignore[arg-type]  # stubs say str | None; Django returns any value
        initial=7,
        label="Submitted",
    )
    job = forms.UUIDField(required=False, widget=forms.HiddenInput)  # one bulk job's resends
    item = forms.CharField(
        required=False, max_length=200, label="Order or item id", strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. an order id"}),
    )  # fmt: skip
