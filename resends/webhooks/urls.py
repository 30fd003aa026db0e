from django.urls import path

from . import views
from .counting import counted

urlpatterns = [
    # /webhooks/junction/, /webhooks/chargebee/, /webhooks/returnhelper/, ... (the registry's)
    path("<slug:provider>/", counted(views.receive), name="webhook"),
]
