"""Who is signing in, as django-axes records it for throttling: the client's address
(AXES_CLIENT_IP_CALLABLE) and the user name tried (AXES_USERNAME_CALLABLE).

Behind the TLS proxy, REMOTE_ADDR is the proxy's own address for every client, so throttling by
it would lock everyone out at once after a few strangers' failures. Each proxy appends the
address it received the request from to X-Forwarded-For; anything to the left of what our own
proxies wrote was sent by the client and may be made up. With TRUSTED_PROXIES proxies in front
(the same proxy whose X-Forwarded-Proto SECURE_PROXY_SSL_HEADER trusts), the client is the entry
that many places from the right. Without proxies (TRUSTED_PROXIES=0, the default with DEBUG=1,
e.g. runserver) the header is ignored and REMOTE_ADDR is the client.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest

# AccessAttempt.username is a varchar(255).
USERNAME_STORED = 255


def client_ip(request: HttpRequest) -> str | None:
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXIES
    if not proxies:
        return remote
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies or not forwarded[0]:
        return remote  # not through all of our proxies: nobody vouches for the header
    return _address(forwarded[-proxies]) or remote


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The user name a sign-in tried (as axes reads it), cut to what AccessAttempt stores.

    Django's sign-in form sets the field's max_length after the field is built, so its length is
    never checked: a 5,000-character name reached authenticate(), and recording it failed the
    insert on PostgreSQL (a 500). No account has a name that long, so the cut loses nothing.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    name = credentials.get(field) if credentials else request.POST.get(field)
    return name[:USERNAME_STORED] if isinstance(name, str) else None
