"""What every console view shares: who may see it, and the preview → submit flow of the forms."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from .. import rules
from ..roles import can_audit, console_user_required
from ..rules import RuleViolation
from ..selectors.preview import Preview
from ..services.requests import Submitted
from .forms import ticket_from

View = Callable[..., HttpResponse]
PREVIEW_PARTIAL = "resends/_resend_form.html#preview"


def console_view(view: View) -> View:
    """Signed in, and an agent or a manager (anyone else gets 403)."""
    return wraps(view)(login_required(console_user_required(view)))


def manager_view(view: View) -> View:
    """A console view for managers only (agents get 403 too)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_audit(request.user):
            raise PermissionDenied("This page is for managers.")
        return view(request, *args, **kwargs)

    return console_view(wrapper)


def signed_in_user(request: HttpRequest) -> User:
    """The user of a console view: console_view has already turned away anyone not signed in."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in to use the console.")
    return user


def live_panel(
    request: HttpRequest, template: str, context: dict[str, Any], *, finished: bool
) -> HttpResponse:
    """A polled HTMX panel; once `finished`, the same HTML with status 286 stops the polling."""
    response = render(request, template, context)
    if not finished:
        return response
    stop = HttpResponseStopPolling()
    stop.content = response.content
    return stop


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def render_page_or_partial(
    request: HttpRequest, template: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    """The full page for a normal request; only the named partial for an HTMX swap."""
    name = f"{template}#{partial}" if is_htmx(request) else template
    return render(request, name, context)


def prefilled_ticket(request: HttpRequest) -> str:
    """The helpdesk ticket a link (`?ticket=`) prefills in a form; a malformed one is left out,
    with a message saying why."""
    ticket, error = ticket_from(request.GET)
    if error:
        messages.error(request, error)
    return ticket


def form_problems(form: Any) -> list[rules.Problem]:
    """Form errors as blocking problems, so the preview shows them beside the rule checks."""
    problems = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            text = f"{label}: {error}" if label and name != "__all__" else str(error)
            problems.append(rules.Problem(name, text))
    return problems


def preview_or_submit(
    request: HttpRequest,
    *,
    form: Any,
    build_preview: Callable[[], Preview],
    submit: Callable[[str], Submitted],
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    """POST handling shared by the three resend forms.

    Every POST previews. A POST with action=submit submits first: the service recognises a repeat
    of an earlier submit, and otherwise checks every rule under a lock, so a stale preview cannot
    slip past them; a refusal comes back as the preview with its problems.
    """
    preview: Preview | None = None
    problems: list[rules.Problem] = []
    if not form.is_valid():
        problems = form_problems(form)
    else:
        if request.POST.get("action") == "submit":
            # The service finds a repeat of this resend before it applies the rules (which the
            # first one may have changed), checks the rules under a lock, and refuses otherwise.
            try:
                submitted = submit(f"web:{form.cleaned_data['token']}")
            except RuleViolation as violation:
                problems = violation.problems
            else:
                return after_submit(request, submitted)
        preview = build_preview()
        if preview.blocked:
            problems = []  # the preview shows them, each beside its item
    context = {**context, "form": form, "preview": preview, "problems": problems}
    return render(request, PREVIEW_PARTIAL if is_htmx(request) else template, context)


def after_submit(request: HttpRequest, submitted: Submitted) -> HttpResponse:
    resend = submitted.request
    if submitted.created:
        messages.success(request, "Submitted. This page follows the resend as it happens.")
    elif resend.submitted_by_id == request.user.pk:
        messages.info(request, "You already submitted this; here it is (nothing was sent twice).")
    else:
        when = timezone.localtime(resend.submitted_at)
        messages.warning(
            request,
            f"The same resend was already submitted by {resend.submitted_by.get_username()} "
            f"at {when:%H:%M %Z}; here it is instead of a second one.",
        )
    url = reverse("resends:request", args=[resend.public_id])
    if is_htmx(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)
