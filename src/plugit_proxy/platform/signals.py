"""Keep the web side's caches honest when platform data changes.

- a change to a user, a membership, a subscription or an organisation evicts the account
  records it affects (plugit_proxy.platform.identities), in the shared cache;
- a change to a project's services or accepted organisations touches the project's `updated`
  stamp, which the projects' change check (plugit_proxy.platform.projects) watches.

Bulk updates (`QuerySet.update`) send no signal: the records' short lifetime covers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.cache import caches
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from . import models
from .identities import account_key

__all__ = ["forget_accounts"]


def forget_accounts(pks: Iterable[int]) -> None:
    """Evict these users' account records from the shared cache."""
    keys = [account_key(pk) for pk in pks]
    if keys:
        caches["default"].delete_many(keys)


@receiver([post_save, post_delete], sender=models.User)
def _user_changed(sender: Any, instance: models.User, **kwargs: Any) -> None:
    forget_accounts([instance.pk])


@receiver([post_save, post_delete], sender=models.OrganisationMembership)
@receiver([post_save, post_delete], sender=models.ProjectMembership)
@receiver([post_save, post_delete], sender=models.Subscription)
def _membership_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_accounts([instance.user_id])


@receiver([post_save, post_delete], sender=models.Organisation)
def _organisation_changed(sender: Any, instance: models.Organisation, **kwargs: Any) -> None:
    members = models.OrganisationMembership.objects.filter(organisation_id=instance.pk)
    forget_accounts(members.values_list("user_id", flat=True))


@receiver([post_save, post_delete], sender=models.Project)
def _project_changed(sender: Any, instance: models.Project, **kwargs: Any) -> None:
    # Records keep roles and subscriptions by slug: a renamed project must not keep them.
    members = models.ProjectMembership.objects.filter(project_id=instance.pk)
    forget_accounts(members.values_list("user_id", flat=True))


@receiver([post_save, post_delete], sender=models.ProjectService)
def _service_changed(sender: Any, instance: models.ProjectService, **kwargs: Any) -> None:
    touch_project(instance.project_id)


@receiver(m2m_changed, sender=models.Project.allowed_organisations.through)
def _accepted_orgas_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    if isinstance(instance, models.Project):
        touch_project(instance.pk)
    else:  # changed from the organisation's side
        for pk in kwargs.get("pk_set") or ():
            touch_project(pk)


def touch_project(pk: int) -> None:
    """Mark a project as changed, so every process reloads it."""
    models.Project.objects.filter(pk=pk).update(updated=timezone.now())
