"""Databricks names and paths in SQL text, rewritten for the local Spark server before it sees the statement.

Only the spans that change are replaced, so every other character of the statement reaches Spark as written (a SQL
transpiler would re-print the whole statement). What is rewritten:

- three-part names `catalog.schema.table` (and the table part of `catalog.schema.table.column`) whose first part is a
  catalog of the workspace — so `t.address.city`, a struct field of a table `t`, stays as it is — unless `(`
  follows and no TABLE, VIEW or INTO precedes (a function);
- two-part names `schema.table` where only a table's name can stand (after FROM, JOIN, TABLE, INTO ...), whose
  schema is one of the current catalog;
- schema names, `catalog.schema` or `schema` (of the current catalog), after SCHEMA / DATABASE / NAMESPACE (with
  IF [NOT] EXISTS), after `TABLES|VIEWS|FUNCTIONS IN|FROM` and after USE; and `USE CATALOG name`;
- paths: the string after LOCATION, the string given as `path` in OPTIONS, and the path of a file-format
  table such as parquet.`dbfs:/data/x` — never other strings, which are data.

The tokens follow Spark's lexer (SqlBaseLexer.g4): '…' and "…" are strings with backslash escapes, `…` is a quoted
identifier with `` for a backtick, `--` and `/* */` are comments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

PathResolver = Callable[[str], str]
FILE_FORMATS = frozenset(("parquet", "delta", "csv", "json", "orc", "text", "avro", "binaryfile", "xml"))
_SCHEMA_WORDS = frozenset(("schema", "database", "namespace"))
_LISTING_WORDS = frozenset(("tables", "views", "functions"))
_TABLE_WORDS = ("from", "join", "table", "view", "into", "update", "using")
# Words that follow USE, CREATE ... and are no schema's name.
_NOT_NAMES = ("schema", "database", "namespace", "catalog", "if", "not", "exists", "extended")


@dataclass(frozen=True)
class Token:
    kind: str  # word, quoted (`…`), string, punct
    start: int
    end: int
    text: str  # a word as written, a quoted identifier or string unquoted, a punctuation character

    def word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def tokens(sql: str) -> list[Token]:
    """The significant tokens of `sql` (no spaces, no comments)."""
    found: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c in "'\"":
            j, text = i + 1, []
            while j < n and sql[j] != c:
                if sql[j] == "\\" and j + 1 < n:
                    j += 1
                text.append(sql[j])
                j += 1
            found.append(Token("string", i, min(j + 1, n), "".join(text)))
            i = j + 1
        elif c == "`":
            j, text = i + 1, []
            while j < n:
                if sql[j] == "`":
                    if sql.startswith("``", j):
                        text.append("`")
                        j += 2
                        continue
                    break
                text.append(sql[j])
                j += 1
            found.append(Token("quoted", i, min(j + 1, n), "".join(text)))
            i = j + 1
        elif c.isalnum() or c == "_":
            j = i
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            found.append(Token("word", i, j, sql[i:j]))
            i = j
        else:
            found.append(Token("punct", i, i + 1, c))
            i += 1
    return found


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class Names(Protocol):
    """What the names of a statement become (runtime/spark/notebook.py LocalTables); None leaves one as written."""

    def table(self, parts: list[str]) -> str | None: ...  # catalog.schema.table, or schema.table

    def schema(self, parts: list[str]) -> str | None: ...  # catalog.schema, or schema

    def use_catalog(self, name: str) -> str | None: ...  # what `USE CATALOG name` uses instead


def rewrite(sql: str, names: Names, path: PathResolver) -> str:
    """`sql` with the names and paths of the module docstring replaced."""
    toks = tokens(sql)
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(toks):
        chain = _chain(toks, i)
        if not chain:
            if _location_string(toks, i) or _path_option(toks, i):
                token = toks[i]
                edits.append((token.start, token.end, string_literal(path(token.text))))
            i += 1
            continue
        parts = [t.text for t in chain]
        after = toks[i + len(chain) * 2 - 1] if i + len(chain) * 2 - 1 < len(toks) else None
        start, replacement = chain[0].start, None
        if len(parts) == 1 and i >= 2 and toks[i - 1].word("catalog") and toks[i - 2].word("use"):
            start, replacement = toks[i - 1].start, names.use_catalog(parts[0])
        elif len(parts) == 1 and _schema_position(toks, i) and not chain[0].word(*_NOT_NAMES):
            replacement = names.schema(parts)
        elif len(parts) == 2 and parts[0].lower() in FILE_FORMATS and chain[1].kind == "quoted":
            replacement = f"{parts[0]}.{quote(path(parts[1]))}"
        elif len(parts) == 2 and _schema_position(toks, i):
            replacement = names.schema(parts)
        elif len(parts) == 2 and _table_position(toks, i):
            replacement = names.table(parts)
        elif len(parts) >= 3 and (after is None or after.text != "(" or _table_position(toks, i)):
            name = names.table(parts[:3])
            if name is not None:
                edits.append((chain[0].start, chain[2].end, name))
        if replacement is not None:
            edits.append((start, chain[-1].end, replacement))
        i += len(chain) * 2 - 1
    for begin, end_, text in sorted(edits, reverse=True):
        sql = sql[:begin] + text + sql[end_:]
    return sql


def _chain(toks: list[Token], i: int) -> list[Token]:
    """The (dotted) name starting at token i (`a`, `a.b.c`, quoted parts allowed), when one starts there."""
    if toks[i].kind not in ("word", "quoted") or (i > 0 and _dot(toks[i - 1])):
        return []
    chain = [toks[i]]
    j = i + 1
    while j + 1 < len(toks) and _dot(toks[j]) and toks[j + 1].kind in ("word", "quoted"):
        if toks[j].start != chain[-1].end or toks[j + 1].start != toks[j].end:
            break  # `a. b` is no name Spark reads as one
        chain.append(toks[j + 1])
        j += 2
    return chain


def _dot(token: Token) -> bool:
    return token.kind == "punct" and token.text == "."


def _keyword_before(toks: list[Token], i: int) -> int:
    """The index of the token before i, skipping IF [NOT] EXISTS; -1 at the start."""
    back = i - 1
    while back >= 0 and toks[back].word("if", "not", "exists"):
        back -= 1
    return back


def _table_position(toks: list[Token], i: int) -> bool:
    """Where a name is a table's: after FROM, JOIN, TABLE, VIEW, INTO, UPDATE or USING (so a two-part name there is
    schema.table, not table.column, and one followed by `(` is a table with its columns, not a function)."""
    back = _keyword_before(toks, i)
    return back >= 0 and toks[back].word(*_TABLE_WORDS)


def _schema_position(toks: list[Token], i: int) -> bool:
    back = _keyword_before(toks, i)
    if back < 0:
        return False
    before = toks[back]
    if before.word(*_SCHEMA_WORDS) or before.word("use"):
        return True
    return before.word("in", "from") and back > 0 and toks[back - 1].word(*_LISTING_WORDS)


def _location_string(toks: list[Token], i: int) -> bool:
    return toks[i].kind == "string" and i > 0 and toks[i - 1].word("location")


def _path_option(toks: list[Token], i: int) -> bool:
    """`path '…'` or `path = '…'` inside OPTIONS (…)."""
    if toks[i].kind != "string" or i == 0:
        return False
    key = i - 2 if toks[i - 1].text == "=" and toks[i - 1].kind == "punct" else i - 1
    return key >= 0 and toks[key].word("path") and any(t.word("options") for t in toks[max(0, key - 40) : key])


def dropped_table(sql: str) -> list[str] | None:
    """The name parts of the table `DROP TABLE [IF EXISTS] name` drops; None for any other statement."""
    toks = tokens(sql)
    if len(toks) < 3 or not (toks[0].word("drop") and toks[1].word("table")):
        return None
    i = 2
    while i < len(toks) and toks[i].word("if", "exists"):
        i += 1
    chain = _chain(toks, i) if i < len(toks) else []
    return [t.text for t in chain] or None


def string_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
