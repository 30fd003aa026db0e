"""One package per provider (client, adapter, mirror mapping, webhooks) behind the small
interface in base.py; `registry` finds the one an account needs."""
