"""The provider calls counted by account, operation, state and error class (models/metrics.py
CallCount), so that /metrics never counts 3M rows.

Database triggers write the counts, so every change of a call's state is counted whichever code
makes it (the engine, a webhook, a cancel, a bulk UPDATE, the admin) and in the same transaction:
a rolled-back change is not counted. Each change appends signed rows (no shared row to lock, so
workers never wait on each other); `compact` (beat, every minute) folds them into one per key.

Deleting calls is not counted: nothing in the application deletes one (every reference to a call
protects it). If rows are ever deleted by hand, `rebuild()` counts them again.
"""

from __future__ import annotations

import logging

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ..models import CallCount, ProviderCall

log = logging.getLogger(__name__)

KEY = ("account_id", "operation", "state", "error_class")
TRIGGER = "resends_count_call"  # the PostgreSQL trigger and its function
SQLITE_TRIGGERS = (f"{TRIGGER}_insert", f"{TRIGGER}_update")


def _tables() -> tuple[str, str]:
    return ProviderCall._meta.db_table, CallCount._meta.db_table


def _postgresql_sql() -> list[str]:
    calls, counts = _tables()
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
                INSERT INTO {counts} ({columns}, n) VALUES ({old}, -1);
            END IF;
            INSERT INTO {counts} ({columns}, n) VALUES ({new}, 1);
            RETURN NULL;
        END $$""",
        f"DROP TRIGGER IF EXISTS {TRIGGER} ON {calls}",
        f"""CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OF {columns} ON {calls}
        FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()""",
    ]


def _sqlite_sql() -> list[str]:
    calls, counts = _tables()
    columns = ", ".join(KEY)
    old = ", ".join(f"OLD.{c}" for c in KEY)
    new = ", ".join(f"NEW.{c}" for c in KEY)
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in KEY)
    insert, update = SQLITE_TRIGGERS
    return [
        f"DROP TRIGGER IF EXISTS {insert}",
        f"DROP TRIGGER IF EXISTS {update}",
        f"""CREATE TRIGGER {insert} AFTER INSERT ON {calls} BEGIN
            INSERT INTO {counts} ({columns}, n) VALUES ({new}, 1);
        END""",
        f"""CREATE TRIGGER {update} AFTER UPDATE OF {columns} ON {calls} WHEN {changed} BEGIN
            INSERT INTO {counts} ({columns}, n) VALUES ({old}, -1), ({new}, 1);
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
    calls, counts = _tables()
    present = set(connection.introspection.table_names())
    if calls not in present or counts not in present or installed(connection):
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
    """Fold the appended rows into one per key (beat runs this every minute). Returns how many
    rows were folded."""
    connection = connections[using]
    _, counts = _tables()
    columns = ", ".join(KEY)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: only the rows this DELETE removed are summed, so a change committed
            # meanwhile (or a second compaction) is neither lost nor counted twice.
            cursor.execute(
                f"""WITH gone AS (DELETE FROM {counts} RETURNING {columns}, n),
                         kept AS (INSERT INTO {counts} ({columns}, n)
                                  SELECT {columns}, SUM(n) FROM gone GROUP BY {columns}
                                  HAVING SUM(n) <> 0 RETURNING 1)
                    SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM kept)"""
            )
            folded, _ = cursor.fetchone()
        else:
            # SQLite: this transaction holds the only write lock (IMMEDIATE mode, see settings).
            cursor.execute(f"SELECT max(id) FROM {counts}")
            last = cursor.fetchone()[0] or 0
            cursor.execute(
                f"SELECT {columns}, SUM(n) FROM {counts} WHERE id <= %s GROUP BY {columns}"
                " HAVING SUM(n) <> 0",
                [last],
            )
            sums = cursor.fetchall()
            cursor.execute(f"DELETE FROM {counts} WHERE id <= %s", [last])
            folded = cursor.rowcount
            if sums:
                cursor.executemany(
                    f"INSERT INTO {counts} ({columns}, n) VALUES (%s, %s, %s, %s, %s)", sums
                )
    return int(folded)


def _lock(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        calls, counts = _tables()
        with connection.cursor() as cursor:
            # Writers to the calls wait until the counts match them again (seconds at 3M calls).
            cursor.execute(f"LOCK TABLE {calls} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"LOCK TABLE {counts} IN EXCLUSIVE MODE")


def _recount(connection: BaseDatabaseWrapper) -> None:
    calls, counts = _tables()
    columns = ", ".join(KEY)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {counts}")
        cursor.execute(
            f"INSERT INTO {counts} ({columns}, n) SELECT {columns}, count(*) FROM {calls}"
            f" GROUP BY {columns}"
        )
