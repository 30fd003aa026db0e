from typing import Any

from django import template

from ..presentation import STATE_TONES

register = template.Library()


@register.filter
def tone(state: str) -> str:
    """The colour word (ok, bad, warn, muted) of a request's or call's state."""
    return STATE_TONES.get(state, "")


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def is_in(value: Any, container: Any) -> bool:
    """Whether `value` is among `container`'s values, comparing as text (form data is text)."""
    return str(value) in {str(v) for v in container or []}
