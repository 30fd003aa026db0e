from django.urls import path

from . import views
from .webhooks import views as webhooks

app_name = "resends"

urlpatterns = [
    path("", views.home, name="home"),
    path("webhooks/returnhelper/", webhooks.returnhelper, name="webhook-returnhelper"),
    path("webhooks/chargebee/", webhooks.chargebee, name="webhook-chargebee"),
    path("webhooks/junction/", webhooks.junction, name="webhook-junction"),
]
