from typing import Any

from django import template

from ..models import ProviderCall
from ..presentation import STATE_TONES, LastError
from ..presentation import last_error as last_error_of

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


@register.filter
def last_error(call: ProviderCall) -> LastError | None:
    """The call's class of trouble and the time of its last error (presentation.last_error)."""
    return last_error_of(call)
