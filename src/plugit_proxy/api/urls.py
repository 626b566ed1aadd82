"""The API's routes, relative to a project's API root."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "plugit_api"

urlpatterns = [
    path("user/<str:key>", views.user),
    path("user/<str:key>/", views.user),
    path("subscriptions/<int:pk>", views.subscriptions),
    path("subscriptions/<int:pk>/", views.subscriptions),
    path("orga/<int:pk>", views.orga),
    path("orga/<int:pk>/", views.orga),
    path("orgas/", views.orgas),
    path("members/", views.members),
    path("mail/", views.mail),
]
