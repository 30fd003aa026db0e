"""Signature checks for each provider's webhooks. Each returns None when the request is genuine,
or a short reason (never echoing a secret) when it is not."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest
from svix.webhooks import Webhook, WebhookVerificationError

from ..times import parse_time

RETURNHELPER_TOLERANCE = timedelta(minutes=15)


def returnhelper_signature(signing_key_b64: str, url: str, timestamp: str, body: bytes) -> str:
    message = b"POST" + url.encode() + timestamp.encode() + body
    digest = hmac.new(base64.b64decode(signing_key_b64), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_returnhelper(
    request: HttpRequest, *, signing_key_b64: str, endpoint_url: str
) -> str | None:
    signature = request.headers.get("returnhelper-signature", "")
    timestamp = request.headers.get("timestamp", "")
    if not signature or not timestamp:
        return "missing signature or timestamp header"
    sent_at = parse_time(timestamp)
    if sent_at is None:
        return "unreadable timestamp header"
    if abs(datetime.now(UTC) - sent_at) > RETURNHELPER_TOLERANCE:
        return "timestamp outside the 15-minute tolerance"
    expected = returnhelper_signature(signing_key_b64, endpoint_url, timestamp, request.body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return "signature does not match"
    return None


def verify_basic_auth(request: HttpRequest, *, username: str, password: str) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return "missing HTTP Basic credentials"
    try:
        given_user, _, given_password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "malformed HTTP Basic credentials"
    user_ok = hmac.compare_digest(given_user.encode(), username.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return None if user_ok and password_ok else "wrong HTTP Basic credentials"


def verify_svix(request: HttpRequest, *, secret: str) -> str | None:
    headers = {
        name: request.headers.get(name, "")
        for name in ("svix-id", "svix-timestamp", "svix-signature")
    }
    if not all(headers.values()):
        return "missing svix headers"
    try:
        Webhook(secret).verify(request.body, headers)
    except WebhookVerificationError:
        return "svix signature does not match"
    return None
