from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html

from ..models import ProviderCall
from ..presentation import STATE_TONES, LastError
from ..presentation import last_error as last_error_of
from ..times import parse_time

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
def local_time(value: Any) -> Any:
    """A stored ISO 8601 time ("2026-01-01T05:00:00+00:00", a bulk filter's bound or window) in
    the current time zone, as the pages show times; any other value as it is."""
    if not isinstance(value, str) or "T" not in value:
        return value
    moment = parse_time(value)
    if moment is None:
        return value
    try:
        return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}"
    except OverflowError:  # year 9999 pushed past the end by the zone's offset
        return value


@register.filter
def last_error(call: ProviderCall) -> LastError | None:
    """The call's class of trouble and the time of its last error (presentation.last_error)."""
    return last_error_of(call)


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
