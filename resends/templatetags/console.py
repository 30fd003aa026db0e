from typing import Any

from django import template
from django.utils.html import format_html

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


@register.simple_tag
def copy_button(value: Any, what: str) -> str:
    """A button that copies `value` (static/js/copy.js), named for screen readers, with the
    live region that says "Copied"."""
    if not value:
        return ""
    return format_html(
        '<button type="button" class="copy small" data-copy="{}" aria-label="Copy {} {}">'
        'Copy</button><span class="copy-status muted small" role="status" aria-live="polite">'
        "</span>",
        value,
        what,
        value,
    )
