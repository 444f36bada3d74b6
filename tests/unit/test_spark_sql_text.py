"""The SQL rewriting of the local workspace's Spark (runtime/spark/sql_text.py): what is replaced, and that nothing
else of a statement changes."""

from __future__ import annotations

import pytest

from dbcicd_localworkspace.runtime.spark import sql_text

CATALOGS = {"main", "dev"}
SCHEMAS = {"default", "sales"}  # of the current catalog


class Names:
    """Marks what it replaces, so a test sees which rule applied."""

    def table(self, parts: list[str]) -> str | None:
        known = SCHEMAS if len(parts) == 2 else CATALOGS
        return f"T[{'|'.join(parts)}]" if parts[0].lower() in known else None

    def schema(self, parts: list[str]) -> str | None:
        return f"S[{'|'.join(parts)}]" if len(parts) == 1 or parts[0].lower() in CATALOGS else None

    def use_catalog(self, name: str) -> str | None:
        return f"C[{name}]" if name.lower() in CATALOGS else None


def path(value: str) -> str:
    return "/disk" + value.removeprefix("dbfs:")


def rewrite(sql: str) -> str:
    return sql_text.rewrite(sql, Names(), path)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT count(*) FROM main.default.t", "SELECT count(*) FROM T[main|default|t]"),
        ("select * from `main`.`default`.`my table`", "select * from T[main|default|my table]"),
        ("SELECT t.address.city FROM main.default.t AS t", "SELECT t.address.city FROM T[main|default|t] AS t"),
        ("SELECT main.default.t.n FROM main.default.t", "SELECT T[main|default|t].n FROM T[main|default|t]"),
        ("SELECT main.default.f(1)", "SELECT main.default.f(1)"),  # a function of a schema, not a table
        ("CREATE SCHEMA IF NOT EXISTS main.staging", "CREATE SCHEMA IF NOT EXISTS S[main|staging]"),
        ("SHOW TABLES IN dev.raw", "SHOW TABLES IN S[dev|raw]"),
        ("USE main.default", "USE S[main|default]"),
        ("SELECT a.b FROM x", "SELECT a.b FROM x"),
        ("SELECT * FROM parquet.`dbfs:/data/x`", "SELECT * FROM parquet.`/disk/data/x`"),
        (
            "CREATE TABLE main.s.t (a INT) LOCATION 'dbfs:/ext/t'",
            "CREATE TABLE T[main|s|t] (a INT) LOCATION '/disk/ext/t'",
        ),
        (
            "CREATE TABLE x USING csv OPTIONS (header 'true', path 'dbfs:/in.csv')",
            "CREATE TABLE x USING csv OPTIONS (header 'true', path '/disk/in.csv')",
        ),
        ("INSERT INTO main.s.t (a) VALUES (1)", "INSERT INTO T[main|s|t] (a) VALUES (1)"),
        (
            "SELECT o.id FROM sales.orders o JOIN sales.items i ON o.id = i.id",
            "SELECT o.id FROM T[sales|orders] o JOIN T[sales|items] i ON o.id = i.id",
        ),
        ("SELECT sales.orders FROM other.t", "SELECT sales.orders FROM other.t"),  # a column; no schema of ours
        ("CREATE TABLE IF NOT EXISTS sales.t (a INT)", "CREATE TABLE IF NOT EXISTS T[sales|t] (a INT)"),
        ("USE CATALOG dev", "USE C[dev]"),
        ("USE CATALOG nosuch", "USE CATALOG nosuch"),
        ("USE SCHEMA staging", "USE SCHEMA S[staging]"),
        ("CREATE SCHEMA IF NOT EXISTS staging", "CREATE SCHEMA IF NOT EXISTS S[staging]"),
        ("DROP DATABASE staging CASCADE", "DROP DATABASE S[staging] CASCADE"),
        ("SHOW TABLES", "SHOW TABLES"),
        ("SHOW TABLES IN staging", "SHOW TABLES IN S[staging]"),
    ],
)
def test_rewrites_names_and_paths(sql: str, expected: str) -> None:
    assert rewrite(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'main.default.t' AS name, \"dbfs:/x\" AS p",  # strings are data
        "SELECT 1 -- FROM main.default.t\n",
        "SELECT /* main.default.t */ 1",
        "SELECT * FROM other.default.t",  # no catalog of the workspace: Spark's own error
        "SELECT 'it\\'s main.default.t'",
        "SELECT `a``b`.c.d FROM z",
    ],
)
def test_leaves_strings_comments_and_unknown_catalogs(sql: str) -> None:
    assert rewrite(sql) == sql


def test_spaced_dots_are_not_one_name() -> None:
    assert rewrite("SELECT main . default . t") == "SELECT main . default . t"


def test_quote_doubles_backticks() -> None:
    assert sql_text.quote("a`b") == "`a``b`"
    assert sql_text.string_literal("it's") == "'it\\'s'"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DROP TABLE main.default.t", ["main", "default", "t"]),
        ("drop table if exists `sales`.`t 1`", ["sales", "t 1"]),
        ("DROP TABLE t -- the copy", ["t"]),
        ("DROP VIEW main.default.t", None),
        ("SELECT 'DROP TABLE t'", None),
        ("DROP SCHEMA main.s", None),
    ],
)
def test_dropped_table_names_what_drop_table_drops(sql: str, expected: list[str] | None) -> None:
    assert sql_text.dropped_table(sql) == expected
