from django.urls import path

from . import views

app_name = "resends"

urlpatterns = [
    path("", views.home, name="home"),
]
