from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .models import Order, ResendRequest
from .roles import console_user_required


@require_GET
@login_required
@console_user_required
def home(request: HttpRequest) -> HttpResponse:
    recent = (
        ResendRequest.objects.filter(submitted_by=request.user)
        .select_related("account")
        .order_by("-submitted_at")[:10]
    )
    return render(
        request,
        "resends/home.html",
        {"recent": recent, "order_count": Order.objects.count()},
    )
