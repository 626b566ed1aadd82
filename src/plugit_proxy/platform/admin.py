"""The operators' admin: every platform model, with memberships edited in place.

API keys are never shown from the database (only their hash is there): a key is shown once,
on a page of its own, when a project is created here or when the "Rotate API key" action makes
one. That page is the only place it goes: not into a message (a cookie, or the session), not
into any cache (`Cache-Control: no-store`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from .models import (
    GRANTABLE_USER_FIELDS,
    Organisation,
    OrganisationMembership,
    Project,
    ProjectMembership,
    ProjectRoute,
    ProjectService,
    Subscription,
    User,
)

NEW_KEYS_TEMPLATE = "admin/platform/project/new_api_keys.html"
# Where `save_model` leaves a new project's key for `response_add`, on the request only.
NEW_KEY_ATTRIBUTE = "_plugit_new_api_key"


def new_keys_page(request: HttpRequest, keys: list[tuple[Project, str]]) -> HttpResponse:
    """Show projects' new keys to the operator, the only time they are ever shown."""
    context = {
        **admin.site.each_context(request),
        "title": "New API keys",
        "keys": [(project.slug, key) for project, key in keys],
        "projects_url": reverse("admin:platform_project_changelist"),
    }
    response = TemplateResponse(request, NEW_KEYS_TEMPLATE, context)
    response["Cache-Control"] = "no-store"
    return response


# -- inlines ---------------------------------------------------------------------------------


class OrganisationMembershipOfUserInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OrganisationMembership
    fields = ("organisation", "role")
    autocomplete_fields = ("organisation",)
    extra = 0
    verbose_name = "organisation membership"


class ProjectMembershipOfUserInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProjectMembership
    fields = ("project", "role")
    autocomplete_fields = ("project",)
    extra = 0
    verbose_name = "project membership"


class MembersOfOrganisationInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OrganisationMembership
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    extra = 0
    verbose_name = "member"


class ServiceInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProjectService
    fields = ("url", "version", "position")
    extra = 0
    min_num = 1
    verbose_name = "service instance"


class RoutesOfProjectInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProjectRoute
    fields = ("version", "rule", "position")
    extra = 0
    verbose_name = "route (who sees which version, first match wins)"


class MembersOfProjectInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProjectMembership
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    extra = 0
    verbose_name = "member"


class SubscriptionsOfProjectInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Subscription
    fields = ("user", "label", "valid_from", "valid_until")
    autocomplete_fields = ("user",)
    extra = 0


# -- users and organisations -----------------------------------------------------------------


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    """Django's user admin, with the account's UUID and its memberships."""

    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Platform", {"fields": ("uuid",)}))
    readonly_fields = ("uuid",)
    inlines = (OrganisationMembershipOfUserInline, ProjectMembershipOfUserInline)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "codops", "member_count")
    search_fields = ("name", "codops")
    inlines = (MembersOfOrganisationInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        rows: QuerySet[Organisation] = super().get_queryset(request)
        return rows.annotate(member_total=Count("members"))

    @admin.display(description="members", ordering="member_total")
    def member_count(self, orga: Organisation) -> int:
        return int(getattr(orga, "member_total", 0))


@admin.register(OrganisationMembership)
class OrganisationMembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    # Spelled out: the form would otherwise put the base Membership's fields (user, role) first.
    fields = ("user", "organisation", "role")
    list_display = fields
    list_filter = ("role", "organisation")
    search_fields = ("user__username", "user__email", "organisation__codops")
    autocomplete_fields = ("user", "organisation")


# -- projects --------------------------------------------------------------------------------


class ProjectForm(forms.ModelForm):  # type: ignore[type-arg]
    """The project form; the user fields are ticked from the allow-list, not typed as JSON."""

    user_fields = forms.MultipleChoiceField(
        choices=[(name, name) for name in GRANTABLE_USER_FIELDS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What the service may receive about the user.",
    )

    class Meta:
        model = Project
        fields = "__all__"

    def clean_user_fields(self) -> list[str]:
        chosen = set(self.cleaned_data.get("user_fields") or ())
        return [name for name in GRANTABLE_USER_FIELDS if name in chosen]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ProjectForm
    list_display = ("name", "slug", "visibility", "orga_mode", "proxy_mode", "layout", "api_key")
    list_filter = ("visibility", "orga_mode", "proxy_mode", "layout", "requires_https")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("allowed_organisations",)
    readonly_fields = ("api_key", "updated")
    inlines = (
        ServiceInline,
        RoutesOfProjectInline,
        MembersOfProjectInline,
        SubscriptionsOfProjectInline,
    )
    actions = ("rotate_api_key",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "visibility", "allowed_organisations")}),
        ("Pages", {"fields": ("layout", "menu_action", "orga_mode", "proxy_mode")}),
        ("Versions", {"fields": ("shadow_versions",)}),
        ("Security", {"fields": ("requires_https", "user_fields", "api_key", "updated")}),
    )

    @admin.display(description="API key", boolean=True)
    def api_key(self, project: Project) -> bool:
        return project.has_api_key

    def save_model(self, request: HttpRequest, obj: Project, form: Any, change: bool) -> None:
        key = None if change or obj.has_api_key else obj.rotate_api_key()
        super().save_model(request, obj, form, change)
        if key is not None:
            setattr(request, NEW_KEY_ATTRIBUTE, key)

    def response_add(self, request: HttpRequest, obj: Project, *args: Any) -> HttpResponse:
        key = getattr(request, NEW_KEY_ATTRIBUTE, None)
        if key is None:
            return super().response_add(request, obj, *args)
        self.message_user(request, f"The project “{obj.slug}” was added.", messages.SUCCESS)
        return new_keys_page(request, [(obj, key)])

    @admin.action(description="Rotate API key (the old key stops working at once)")
    def rotate_api_key(self, request: HttpRequest, queryset: QuerySet[Project]) -> HttpResponse:
        keys = []
        for project in queryset:
            keys.append((project, project.rotate_api_key()))
            project.save(update_fields=["api_key_hash", "updated"])
        return new_keys_page(request, keys)


@admin.register(ProjectMembership)
class ProjectMembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    fields = ("user", "project", "role")
    list_display = fields
    list_filter = ("role", "project")
    search_fields = ("user__username", "user__email", "project__slug")
    autocomplete_fields = ("user", "project")


# -- subscriptions ---------------------------------------------------------------------------


class ValidityFilter(admin.SimpleListFilter):
    """Subscriptions valid now, not yet valid, or expired."""

    title = "validity"
    parameter_name = "validity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("valid", "Valid now"), ("upcoming", "Not yet valid"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        match self.value():
            case "valid":
                return queryset.filter(pk__in=Subscription.objects.valid(now).values("pk"))
            case "upcoming":
                return queryset.filter(valid_from__gt=now)
            case "expired":
                return queryset.filter(valid_until__lte=now)
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("label", "user", "project", "valid_from", "valid_until", "valid_now")
    list_filter = ("project", "label", ValidityFilter)
    search_fields = ("label", "user__username", "user__email", "project__slug")
    autocomplete_fields = ("user", "project")

    @admin.display(description="valid now", boolean=True)
    def valid_now(self, subscription: Subscription) -> bool:
        now = timezone.now()
        started = subscription.valid_from is None or subscription.valid_from <= now
        return started and (subscription.valid_until is None or subscription.valid_until > now)


def brand(site: admin.AdminSite, platform_name: str) -> None:
    """Name the admin after the platform: its header, its pages' titles, its index."""
    site.site_header = f"{platform_name} administration"
    site.site_title = f"{platform_name} admin"
    site.index_title = f"{platform_name}: projects, organisations and people"


brand(admin.site, settings.PLUGIT_PLATFORM_NAME)
