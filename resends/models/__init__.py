from .accounts import Provider, ProviderAccount
from .audit import CallAttempt, ErrorClass, ProviderCall, ResendRequest, ResendTarget
from .mirrors import LineItem, Order, ReturnInventory
from .webhooks import WebhookEvent

__all__ = [
    "CallAttempt",
    "ErrorClass",
    "LineItem",
    "Order",
    "Provider",
    "ProviderAccount",
    "ProviderCall",
    "ResendRequest",
    "ResendTarget",
    "ReturnInventory",
    "WebhookEvent",
]
