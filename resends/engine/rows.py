"""The engine's hottest statements, written out instead of built with the ORM: on this
project's two-core machines the ORM took longer to compile them than the database took to run
them (a call's read ~14 ms, its claim ~7 ms, a batch's bulk_update of ten rows ~115 ms, 58% of a
bulk worker's CPU at 58 requests a second).

- `Joined`: a model's columns in a hand-written SELECT, and the instance back from a row,
  converted by Django's own converters;
- `update_rows`: many rows' changed fields, one parameterised UPDATE per row sent together with
  executemany (psycopg pipelines them; SQLite runs them in process);
- `update_one`: one row's fields, on conditions (the lease is still ours, the state is not one
  of these).

Values go through each field's own preparation (get_db_prep_save), as the ORM's writes do; no
signals are sent and auto_now is not applied, as with QuerySet.update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model


def _column(model: type[Model], name: str) -> Field[object, object]:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column and field.concrete, name
    return field


def _quoted(field: Field[object, object]) -> str:
    return connection.ops.quote_name(str(field.column))


def update_rows(model: type[Model], rows: Sequence[Model], fields: Sequence[str]) -> None:
    if not rows:
        return
    meta = model._meta
    columns = [_column(model, name) for name in fields]
    assert meta.pk is not None
    assignments = ", ".join(f"{_quoted(field)} = %s" for field in columns)
    table = connection.ops.quote_name(meta.db_table)
    sql = f"UPDATE {table} SET {assignments} WHERE {_quoted(meta.pk)} = %s"
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in columns]
        + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


class Joined:
    """A model's concrete columns in a hand-written SELECT (under a table alias), and the model
    instance back from a row's values, converted as the ORM converts them (JSON, booleans, times
    on SQLite, ...). For the engine's hottest read, which the ORM took ~14 ms to compile."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self.model, self.alias = model, alias
        self.fields = [f for f in model._meta.concrete_fields if isinstance(f, Field)]

    def columns(self) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(str(field.column))}" for field in self.fields)

    def table(self) -> str:
        return f"{connection.ops.quote_name(self.model._meta.db_table)} {self.alias}"

    def instance(self, values: Sequence[object]) -> Model:
        converted = []
        for field, value in zip(self.fields, values, strict=True):
            column = field.get_col(self.model._meta.db_table)
            for convert in (
                *connection.ops.get_db_converters(column),
                *column.get_db_converters(connection),
            ):
                value = convert(value, column, connection)
            converted.append(value)
        return self.model.from_db(
            connection.alias, [field.attname for field in self.fields], converted
        )


def update_one(
    model: type[Model],
    pk: object,
    values: Mapping[str, object],
    *,
    where: Mapping[str, object] | None = None,
    not_in: Mapping[str, Sequence[object]] | None = None,
    also: tuple[str, Sequence[Any]] | None = None,
) -> int:
    """One row's fields set to plain values, if its other fields still equal `where` (None: IS
    NULL), are none of `not_in`, and `also` (a condition written out, with its parameters)
    holds; returns the rows changed (0 or 1). The engine's conditional writes, which the ORM
    took several milliseconds each to compile."""
    meta = model._meta
    assert meta.pk is not None

    def prepared(name: str, value: object) -> tuple[str, object]:
        field = _column(model, name)
        return _quoted(field), field.get_db_prep_save(value, connection)

    sets: list[str] = []
    params: list[Any] = []
    for name, value in values.items():
        column, value = prepared(name, value)
        sets.append(f"{column} = %s")
        params.append(value)
    conditions = [f"{_quoted(meta.pk)} = %s"]
    params.append(pk)
    for name, value in (where or {}).items():
        column, value = prepared(name, value)
        conditions.append(f"{column} IS NULL" if value is None else f"{column} = %s")
        params.extend([] if value is None else [value])
    for name, excluded in (not_in or {}).items():
        prepared_values = [prepared(name, value)[1] for value in excluded]
        marks = ", ".join(["%s"] * len(prepared_values))
        conditions.append(f"{prepared(name, None)[0]} NOT IN ({marks})")
        params.extend(prepared_values)
    if also is not None:
        conditions.append(f"({also[0]})")
        params.extend(also[1])
    table = connection.ops.quote_name(meta.db_table)
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {' AND '.join(conditions)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)
