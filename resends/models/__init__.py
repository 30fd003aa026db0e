from .accounts import Provider, ProviderAccount
from .audit import CallAttempt, ErrorClass, ProviderCall, ResendRequest, ResendTarget
from .budget import RateBudgetState
from .bulk import BulkJob, BulkKind, BulkState
from .metrics import CallCount, CallCountChange, SharedCounter
from .mirrors import LineItem, Order, ReturnInventory
from .review import ReviewDecision, ReviewNotice
from .saved_filter import SavedFilter
from .staff import StaffProfile
from .webhooks import WebhookEvent

__all__ = [
    "BulkJob",
    "BulkKind",
    "BulkState",
    "CallAttempt",
    "CallCount",
    "CallCountChange",
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
    "ReviewDecision",
    "ReviewNotice",
    "SavedFilter",
    "SharedCounter",
    "StaffProfile",
    "WebhookEvent",
]
