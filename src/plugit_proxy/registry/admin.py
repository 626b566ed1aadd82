"""The registry in the admin: registered instances (approve them), shadow comparisons."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .instances import is_live, registry_settings
from .models import RegisteredInstance, ShadowRoute


@admin.register(RegisteredInstance)
class RegisteredInstanceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("url", "project", "version", "approved", "live", "last_heartbeat")
    list_filter = ("approved", "version", "project")
    list_editable = ("approved",)
    readonly_fields = ("project", "version", "url", "registered", "last_heartbeat")
    actions = ("approve", "revoke")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # instances announce themselves (docs/routing.md)

    @admin.display(boolean=True, description="live")
    def live(self, instance: RegisteredInstance) -> bool:
        ttl, _ = registry_settings()
        return is_live(instance, ttl)

    @admin.action(description="Approve: serve these instances")
    def approve(self, request: HttpRequest, queryset: QuerySet[RegisteredInstance]) -> None:
        queryset.update(approved=True)

    @admin.action(description="Revoke: stop serving these instances")
    def revoke(self, request: HttpRequest, queryset: QuerySet[RegisteredInstance]) -> None:
        queryset.update(approved=False)


@admin.register(ShadowRoute)
class ShadowRouteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: the counts come from the proxy processes only."""

    list_display = (
        "project",
        "version",
        "route",
        "copies",
        "status_differs",
        "body_differs",
        "failures",
        "dropped",
        "shadow_ms",
        "production_ms",
        "updated",
    )
    list_filter = ("project", "version")
    search_fields = ("route",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="shadow ms (mean)")
    def shadow_ms(self, row: ShadowRoute) -> str:
        return _mean_ms(row.shadow_seconds, row.answered)

    @admin.display(description="production ms (mean)")
    def production_ms(self, row: ShadowRoute) -> str:
        return _mean_ms(row.production_seconds, row.answered)


def _mean_ms(total: float, count: int) -> str:
    return "-" if not count else f"{total / count * 1000:.1f}"
