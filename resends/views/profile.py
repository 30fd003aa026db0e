"""A staff member's own time zone: the page linked from the header ("Time zone: …")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ..models.staff import time_zone_names
from ..selectors.staff import default_time_zone_name
from ..services.staff import staff_time_zone_set
from .common import console_view, signed_in_user

TEMPLATE = "resends/time_zone.html"


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Your time zone",
        help_text="Every page, the admin, the reports and the CSV export show times in it, and "
        "the times you type are read in it.",
        error_messages={
            "required": "Pick a time zone.",
            "invalid_choice": "That is not a time zone this site knows: pick one from the list.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(name, name.replace("_", " ")) for name in time_zone_names()]
        self.fields["time_zone"].choices = choices  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
@console_view
def time_zone(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    current = timezone.get_current_timezone_name()  # the middleware set the user's zone
    data = request.POST if request.method == "POST" else None
    form = TimeZoneForm(data, initial={"time_zone": current})
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["time_zone"]
        staff_time_zone_set(user=user, time_zone=chosen)
        messages.success(request, f"Times are now shown in {chosen}.")
        return redirect("resends:time-zone")
    context = {
        "form": form,
        "current": current,
        "default": default_time_zone_name(),
        "now": timezone.now(),
    }
    return render(request, TEMPLATE, context, status=400 if form.errors else 200)
