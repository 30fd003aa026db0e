"""Reads: what the console, the admin and the commands show, computed from the database without
changing it (searches, an order's facts, previews, bulk selections and progress, reports)."""
