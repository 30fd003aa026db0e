"""The provider calls counted by account, operation, state and error class (models/metrics.py
CallCount and CallCountChange), so that /metrics never counts 3M rows.

Database triggers write the counts, so every change of a call's state is counted whichever code
makes it (the engine, a webhook, a cancel, a bulk UPDATE, the admin) and in the same transaction:
a rolled-back change is not counted. Each change appends signed rows (no shared row to lock, so
workers never wait on each other); `compact` (beat, every minute) folds them into CallCount, one
row per key, and leaves the change table empty, so that it stays a few pages long.

The trigger names the key's columns: a migration that renames one must call `install` again.
Deleting calls is not counted: nothing in the application deletes one (every reference to a call
protects it). If rows are ever deleted by hand, `rebuild()` counts them again.
"""

from __future__ import annotations

import logging

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ..models import CallCount, CallCountChange, ProviderCall

log = logging.getLogger(__name__)

KEY = ("account_id", "operation", "state", "error_class")
TRIGGER = "resends_count_call"  # the PostgreSQL trigger and its function
SQLITE_TRIGGERS = (f"{TRIGGER}_insert", f"{TRIGGER}_update")


def _tables() -> tuple[str, str]:
    """The calls, and the changes the triggers append."""
    return ProviderCall._meta.db_table, CallCountChange._meta.db_table


def _postgresql_sql() -> list[str]:
    calls, changes = _tables()
    columns = ", ".join(KEY)
    old = ", ".join(f"OLD.{c}" for c in KEY)
    new = ", ".join(f"NEW.{c}" for c in KEY)
    return [
        f"""CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                IF ({old}) IS NOT DISTINCT FROM ({new}) THEN
                    RETURN NULL;
                END IF;
                INSERT INTO {changes} ({columns}, n) VALUES ({old}, -1);
            END IF;
            INSERT INTO {changes} ({columns}, n) VALUES ({new}, 1);
            RETURN NULL;
        END $$""",
        f"DROP TRIGGER IF EXISTS {TRIGGER} ON {calls}",
        f"""CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OF {columns} ON {calls}
        FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()""",
    ]


def _sqlite_sql() -> list[str]:
    calls, changes = _tables()
    columns = ", ".join(KEY)
    old = ", ".join(f"OLD.{c}" for c in KEY)
    new = ", ".join(f"NEW.{c}" for c in KEY)
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in KEY)
    insert, update = SQLITE_TRIGGERS
    return [
        f"DROP TRIGGER IF EXISTS {insert}",
        f"DROP TRIGGER IF EXISTS {update}",
        f"""CREATE TRIGGER {insert} AFTER INSERT ON {calls} BEGIN
            INSERT INTO {changes} ({columns}, n) VALUES ({new}, 1);
        END""",
        f"""CREATE TRIGGER {update} AFTER UPDATE OF {columns} ON {calls} WHEN {changed} BEGIN
            INSERT INTO {changes} ({columns}, n) VALUES ({old}, -1), ({new}, 1);
        END""",
    ]


def installed(connection: BaseDatabaseWrapper) -> bool:
    calls, _ = _tables()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
                [TRIGGER, calls],
            )
            return bool(cursor.fetchone()[0])
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s)",
            list(SQLITE_TRIGGERS),
        )
        return int(cursor.fetchone()[0]) == len(SQLITE_TRIGGERS)


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers and count the calls already there, in one transaction during which no
    call can change (so no change is missed or counted twice)."""
    if connection.vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"call counts need PostgreSQL or SQLite, not {connection.vendor}")
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _lock(connection)
        statements = _postgresql_sql() if connection.vendor == "postgresql" else _sqlite_sql()
        for statement in statements:
            cursor.execute(statement)
        _recount(connection)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    calls, _ = _tables()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {calls}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
        else:
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def ensure_installed(using: str = "default") -> bool:
    """After every migrate (post_migrate): put the triggers back if a migration lost them (on
    SQLite, Django rebuilds a table to alter it, and the rebuilt table has no triggers), counting
    again from the calls. True when it had to."""
    connection = connections[using]
    calls, changes = _tables()
    present = set(connection.introspection.table_names())
    if not {calls, changes, CallCount._meta.db_table} <= present or installed(connection):
        return False
    log.warning("provider-call count triggers were missing: installing them and counting again")
    install(connection)
    return True


def rebuild(using: str = "default") -> None:
    """Count every call again (after calls were deleted by hand)."""
    connection = connections[using]
    with transaction.atomic(using=using):
        _lock(connection)
        _recount(connection)


def compact(using: str = "default") -> int:
    """Fold the appended changes into one count per key (beat runs this every minute). Returns
    how many changes were folded."""
    connection = connections[using]
    _, changes = _tables()
    counts = CallCount._meta.db_table
    columns = ", ".join(KEY)
    # Keys in a fixed order, so that two folds at once take the count rows' locks in one order.
    add = (
        f"INSERT INTO {counts} ({columns}, n) {{rows}}"
        f" ON CONFLICT ({columns}) DO UPDATE SET n = {counts}.n + excluded.n"
    )
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: only the rows this DELETE removed are added, so a change committed
            # meanwhile (or by a second fold) is neither lost nor counted twice.
            rows = f"SELECT {columns}, SUM(n) FROM gone GROUP BY {columns} ORDER BY {columns}"
            cursor.execute(
                f"""WITH gone AS (DELETE FROM {changes} RETURNING {columns}, n),
                         added AS ({add.format(rows=rows)} RETURNING 1)
                    SELECT count(*) FROM gone"""
            )
            return int(cursor.fetchone()[0])
        # SQLite: this transaction holds the only write lock (IMMEDIATE mode, see settings).
        cursor.execute(
            f"SELECT {columns}, SUM(n) FROM {changes} GROUP BY {columns} ORDER BY {columns}"
        )
        sums = cursor.fetchall()
        cursor.execute(f"DELETE FROM {changes}")
        folded = cursor.rowcount
        if sums:
            cursor.executemany(add.format(rows="VALUES (%s, %s, %s, %s, %s)"), sums)
        return int(folded)


def _lock(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        calls, changes = _tables()
        with connection.cursor() as cursor:
            # Writers to the calls wait until the counts match them again (seconds at 3M calls).
            cursor.execute(f"LOCK TABLE {calls} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"LOCK TABLE {changes}, {CallCount._meta.db_table} IN EXCLUSIVE MODE")


def _recount(connection: BaseDatabaseWrapper) -> None:
    calls, changes = _tables()
    counts = CallCount._meta.db_table
    columns = ", ".join(KEY)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {changes}")
        cursor.execute(f"DELETE FROM {counts}")
        cursor.execute(
            f"INSERT INTO {counts} ({columns}, n) SELECT {columns}, count(*) FROM {calls}"
            f" GROUP BY {columns}"
        )
