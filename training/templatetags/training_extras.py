from __future__ import annotations

from django import template

from training.reports import percent

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """A rate as a percentage with one decimal, "—" when there is none."""
    return percent(value)
