"""Reads: what the pages, the forms and the services look up, never writing anything."""
