from django.urls import path

from . import views

urlpatterns = [
    # /webhooks/junction/, /webhooks/chargebee/, /webhooks/returnhelper/, ... (the registry's)
    path("<slug:provider>/", views.receive, name="webhook"),
]
