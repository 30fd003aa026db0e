"""Exactly-once provider effects on an at-least-once queue: the ProviderCall row is the truth, the
Celery message only a doorbell. The design, step by step, is docs/engine.md."""
