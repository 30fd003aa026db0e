from .accounts import Provider, ProviderAccount
from .audit import CallAttempt, ErrorClass, ProviderCall, ResendRequest, ResendTarget
from .budget import RateBudgetState
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
    "RateBudgetState",
    "ResendRequest",
    "ResendTarget",
    "ReturnInventory",
    "WebhookEvent",
]
