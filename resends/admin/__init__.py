"""The Django admin, for managers: one module per area, each registering its own ModelAdmins.

This package only imports them, so that Django's admin autodiscovery (which imports
`resends.admin`) registers everything. The shared large-table helpers live in `tables.py`,
the CSV export of the audit list in `export.py`.
"""

from . import accounts, audit, bulk, logins, mirrors, staff  # noqa: F401
