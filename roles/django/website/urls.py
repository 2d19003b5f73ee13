"""The site's URLs. /health is answered before routing, by pages.middleware.health_check."""

from django.urls import path

from pages import views

urlpatterns = [
    path("", views.home, name="home"),
]
