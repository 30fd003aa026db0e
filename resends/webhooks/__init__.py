"""Inbound webhooks: the entry point views only (verifying and reading is each provider's)."""
