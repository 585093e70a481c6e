"""The Postgres store, against a real Postgres with pgvector (started by pgserver, from PyPI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from plusn.knowledge import fusion
from plusn.knowledge.postgres_store import PostgresStore

pgserver = pytest.importorskip("pgserver")


@pytest.fixture(scope="module")
def dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    srv = pgserver.get_server(Path(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    srv.psql("CREATE EXTENSION IF NOT EXISTS vector;")
    yield srv.get_uri()
    srv.cleanup()


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_postgres_store_round_trip(dsn: str) -> None:
    store = PostgresStore(dsn, "handbook")
    other = PostgresStore(dsn, "other")  # shares the tables, never the rows
    store.put("a.md", "h1", "Handbook", {"team": "hr"},
              [(0, "住房公积金", "员工入职满一年后可以提取住房公积金。"), (1, "Leave", "Fifteen days of paid leave a year.")],
              np.stack([_unit(1, 0, 0), _unit(0, 1, 0)]))
    store.put("b.md", "h2", "Notice", {"team": "admin"}, [(0, "", "食堂周末不开放。")], np.stack([_unit(0, 0, 1)]))
    other.put("a.md", "zz", "Other", {}, [(0, "", "公积金 unrelated")], np.stack([_unit(1, 0, 0)]))
    assert store.stats() == {"documents": 2, "chunks": 3}
    assert store.fingerprints() == {"a.md": "h1", "b.md": "h2"}

    lexical = store.bm25("公积金怎么提取", 10)
    assert lexical and store.fetch([lexical[0][0]])[lexical[0][0]].source == "a.md"
    assert len(lexical) == 1  # the other knowledge base's chunk is not found
    dense = store.dense(_unit(0.9, 0.1, 0), 2)
    chunks = store.fetch([i for i, _ in dense])
    assert [chunks[i].heading for i, _ in dense] == ["住房公积金", "Leave"] and dense[0][1] > dense[1][1]
    assert fusion.fuse("adaptive", lexical, dense)[0][0] == lexical[0][0]

    admin = store.allowed({"team": "admin"})
    assert [store.fetch(list(admin))[i].source for i in admin] == ["b.md"]
    assert store.dense(_unit(1, 0, 0), 5, admin)[0][0] in admin

    store.set_meta("fusion", "{}")
    assert store.meta() == {"fusion": "{}", "generation": "2"}  # two writes so far
    assert store.delete(["a.md"]) == 1 and store.stats() == {"documents": 1, "chunks": 1}
    assert store.generation() == 3 and other.generation() == 1  # each base counts its own writes
    assert other.stats() == {"documents": 1, "chunks": 1}
    store.close()
    other.close()


def test_sql_tool_on_postgres_reads_and_cannot_write(dsn: str) -> None:
    import asyncio

    import psycopg

    from plusn.errors import InvalidRequest
    from plusn.knowledge.spec import SQLSpec
    from plusn.knowledge.sql import SQLTool, UnsafeSQL

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS products; CREATE TABLE products (name TEXT, price NUMERIC);"
                     "INSERT INTO products VALUES ('保温杯', 89), ('Tea set', 199);")
    tool = SQLTool("shop", SQLSpec(url=dsn, max_rows=1, timeout_s=1), "test")
    res = asyncio.run(tool.query("SELECT name FROM products ORDER BY price"))
    assert res.rows == [["保温杯"]] and res.truncated
    assert "TABLE products(name text, price numeric)" in asyncio.run(tool.describe())
    with pytest.raises(UnsafeSQL):
        asyncio.run(tool.query("WITH d AS (DELETE FROM products RETURNING *) SELECT * FROM d"))
    with pytest.raises(UnsafeSQL):
        asyncio.run(tool.query("SELECT pg_sleep(5)"))
    # past the statement check, the read-only session still refuses
    for sql in ("DELETE FROM products", "CREATE TABLE x (a int)"):
        with pytest.raises(InvalidRequest, match="read-only"):
            tool._run(sql)
    with pytest.raises(InvalidRequest, match="longer than"):
        tool._run("SELECT count(*) FROM generate_series(1, 1000000000)")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM products").fetchone() == (2,)
