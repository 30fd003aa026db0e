"""Inbound webhooks: verify the sender, dedupe, apply without ever regressing newer state."""
