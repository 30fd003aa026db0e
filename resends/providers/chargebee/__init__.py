"""Chargebee: resend an order in full or in part (`POST /api/v2/orders/{id}/resend`)."""
