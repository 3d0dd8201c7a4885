"""`{% if user|annotates %}`: whether the header shows the Annotate link."""

from __future__ import annotations

from typing import Any

from django import template

from annotation.roles import roles_of

register = template.Library()


@register.filter
def annotates(user: Any) -> bool:
    return bool(roles_of(user))
