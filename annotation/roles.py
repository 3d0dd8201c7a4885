"""Who may do what in annotation: the one helper every page, API and command checks with.

Roles are Django groups (made by migration 0002): `annotator` and `reviewer`. Admins (staff or
superusers) hold every role. Volunteers and plain API clients hold none: an API token acts with
its user's roles, nothing more."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from rest_framework import status
from rest_framework.permissions import BasePermission

from uzwhisper.errors import ApplicationError

ANNOTATOR = "annotator"
REVIEWER = "reviewer"
ADMIN = "admin"  # not a group: is_staff or is_superuser
GROUPS = (ANNOTATOR, REVIEWER)
ROLES = (ADMIN, REVIEWER, ANNOTATOR)

User = AbstractBaseUser | AnonymousUser


def is_admin(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def roles_of(user: Any) -> frozenset[str]:
    """The roles `user` holds. Read once per user object (cached on it)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_annotation_roles", None)
    if cached is None:
        if is_admin(user):
            cached = frozenset(ROLES)
        else:
            cached = frozenset(user.groups.filter(name__in=GROUPS).values_list("name", flat=True))
        user._annotation_roles = cached
    return cached


def has_role(user: Any, role: str) -> bool:
    return role in roles_of(user)


def require_role(user: Any, role: str) -> None:
    """Raise ApplicationError (403, `permission_denied`) unless `user` holds `role`."""
    if not has_role(user, role):
        raise ApplicationError(
            "permission_denied",
            f"This needs the {role} role.",
            status_code=status.HTTP_403_FORBIDDEN,
        )


def grant_role(user: Any, role: str) -> None:
    """Add `user` to the group of `role` (annotator or reviewer)."""
    if role not in GROUPS:
        raise ValueError(f"{role!r} is not a group role")
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    user.__dict__.pop("_annotation_roles", None)


class RolePermission(BasePermission):
    """DRF permission: the view's `required_role`."""

    message = "You do not hold the role this needs."

    def has_permission(self, request: Any, view: Any) -> bool:
        return has_role(request.user, view.required_role)
