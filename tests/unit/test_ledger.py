from __future__ import annotations

import sqlite3
from pathlib import Path

from plusn.ledger.report import usage_report
from plusn.ledger.writer import Ledger, RequestRecord, read_rows


def test_rows_are_written_and_close_drains_the_queue(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    ledger = Ledger(db, flush_interval_s=5)  # long interval: only close() can flush in time
    ledger.open()
    for i in range(250):
        r = RequestRecord(id=f"r{i}", endpoint="/v1/chat/completions", requested_model="m", served_models=["m"],
                   status=200, prompt_tokens=3, completion_tokens=4, cost=0.5)
        ledger.add(r)
    ledger.close()
    rows = read_rows(db)
    assert len(rows) == 250
    assert rows[0]["served_models"] == ["m"] and rows[0]["status"] == 200
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_large_batches_keep_every_row_and_audit_once(tmp_path: Path) -> None:
    """Batches larger than one INSERT statement's share are split, and a rewritten batch (a retry
    after a busy database) adds nothing twice."""
    from plusn.database import connect
    from plusn.ledger.writer import _AUDIT, _INSERT, _insert

    db = tmp_path / "l.db"
    ledger = Ledger(db, flush_interval_s=5)
    records = [RequestRecord(id=f"r{i}", endpoint="/v1/chat/completions", status=200, prompt_tokens=i,
                      safety=[{"stage": "input", "category": "jailbreak", "action": "flag", "score": 0.9}] * (i % 2))
               for i in range(1234)]
    for r in records:
        ledger.add(r)
    assert ledger.backlog == 1234  # not opened yet: everything waits
    ledger.open()
    ledger.close()
    conn = connect(db)
    assert conn.execute("SELECT COUNT(*), SUM(prompt_tokens) FROM ledger").fetchone()[:] == (1234, sum(range(1234)))
    assert conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 617
    with conn:
        _insert(conn, _INSERT, [r.row() for r in records[:700]])
    assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 1234
    with conn:
        _insert(conn, _AUDIT, [])
    assert conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 617


def test_usage_report_groups_by_key_and_model(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    ledger = Ledger(db)
    ledger.open()
    for i, (key, model) in enumerate([("a", "m1"), ("a", "m1"), ("b", "m2")]):
        ledger.add(RequestRecord(id=str(i), endpoint="/v1/x", key_name=key, served_models=[model], status=200,
                          prompt_tokens=10, completion_tokens=5, cost=1.0))
    ledger.add(RequestRecord(id="bad", endpoint="/v1/x", key_name="a", requested_model="zzz", status=404))
    ledger.close()
    rows = usage_report(db, ["key", "model"])
    by = {(r["key"], r["model"]): r for r in rows}
    assert by[("a", "m1")]["requests"] == 2 and by[("a", "m1")]["tokens_in"] == 20 and by[("a", "m1")]["cost"] == 2.0
    assert by[("b", "m2")]["tokens_out"] == 5
    assert by[("a", "zzz")]["errors"] == 1
