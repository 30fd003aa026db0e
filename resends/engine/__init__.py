"""Exactly-once provider effects on an at-least-once queue. See ../../docs or shared/exactly-once.md:
the ProviderCall row is the truth, the Celery message only a doorbell."""
