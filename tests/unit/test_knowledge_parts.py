"""Knowledge parts without a model: words, readers, chunker, fusion, the SQL guard."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plusn.errors import InvalidRequest
from plusn.knowledge import fusion
from plusn.knowledge.chunker import chunk, sentences
from plusn.knowledge.grounding import extract_sql, invented_numbers, now_line
from plusn.knowledge.readers import Document, Section, read
from plusn.knowledge.spec import SQLSpec
from plusn.knowledge.sql import SQLTool, UnsafeSQL, validate
from plusn.knowledge.sqlite_store import SQLiteStore, fts_query
from plusn.knowledge.text import rough_tokens, words


def test_chinese_words_find_the_word_inside_a_longer_one() -> None:
    ws = words("住房公积金提取条件")
    assert "公积金" in ws and "住房" in ws and "提取" in ws
    assert words("The Housing FUND", query=True) == ["housing", "fund"]  # stopwords dropped from queries only
    assert "the" in words("The Housing FUND")
    assert words("ＡＢＣ１２３") == ["abc123"]  # full-width folds to ASCII


def test_sentences_split_at_chinese_and_latin_ends_and_keep_closing_quotes() -> None:
    assert sentences("他说：“好。”然后走了。Next one! Last") == ["他说：“好。”", "然后走了。", "Next one!", "Last"]
    assert sentences("3.14 is pi. Fine") == ["3.14 is pi.", "Fine"]


def test_chunks_respect_headings_and_limits() -> None:
    body = "。".join(f"第{i}条规定的内容比较长需要认真阅读" for i in range(40)) + "。"
    doc = Document("手册", [Section(["报销"], body), Section(["年假"], "每年十五天。")])
    chunks = chunk(doc, max_tokens=64)
    assert all(rough_tokens(c.text) <= 64 for c in chunks)
    assert {c.heading for c in chunks} == {"手册 > 报销", "手册 > 年假"}
    assert chunks[-1].text == "每年十五天。" and chunks[-1].heading == "手册 > 年假"
    assert all(c.text.endswith("。") for c in chunks)  # cut at sentence ends, not inside
    # one sentence of overlap between neighbours in a section
    assert chunks[1].text.split("。")[0] == chunks[0].text.split("。")[-2]


def test_an_overlong_sentence_is_cut_without_losing_text() -> None:
    long = "很" * 500
    chunks = chunk(Document("", [Section([], long)]), max_tokens=64)
    assert "".join(c.text for c in chunks) == long and all(rough_tokens(c.text) <= 64 for c in chunks)


def test_markdown_html_and_docx_keep_their_headings(tmp_path: Path) -> None:
    md = read(Path("a.md"), "# Guide\n## 安装\n运行 make。\n```\n# not a heading\n```\n### Linux\n装好了。".encode())
    assert md.title == "Guide"
    assert [s.headings for s in md.sections] == [["Guide", "安装"], ["Guide", "安装", "Linux"]]
    assert "# not a heading" in md.sections[0].text
    html = read(Path("p.html"), b"<html><head><title>FAQ</title><script>var x=1</script></head><body>"
                                b"<h1>Refunds</h1><p>Within <b>7</b> days.</p><h2>Shipping</h2><p>Free.</p></body></html>")
    assert html.title == "FAQ" and [(s.headings, s.text) for s in html.sections] == [
        (["Refunds"], "Within 7 days."), (["Refunds", "Shipping"], "Free.")]
    import docx

    d = docx.Document()
    d.add_heading("制度", level=1)
    d.add_paragraph("加班需提前申请。")
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "夜班补贴", "80元"
    d.save(str(tmp_path / "rules.docx"))
    doc = read(tmp_path / "rules.docx")
    assert doc.sections[0].headings == ["制度"] and "加班需提前申请" in doc.sections[0].text
    assert "夜班补贴 | 80元" in doc.sections[0].text


def test_pdf_text_is_read(tmp_path: Path) -> None:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    page = w.add_blank_page(300, 200)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 20 100 Td (Refunds within seven days.) Tj ET")
    page[NameObject("/Contents")] = w._add_object(stream)
    with open(tmp_path / "policy.pdf", "wb") as f:
        w.write(f)
    doc = read(tmp_path / "policy.pdf")
    assert doc.sections[0].headings == ["p. 1"] and "Refunds within seven days." in doc.sections[0].text
    with pytest.raises(InvalidRequest, match="cannot read PDF"):
        read(Path("broken.pdf"), b"%PDF-1.4 garbage")
    with pytest.raises(InvalidRequest, match="unsupported file type"):
        read(Path("a.exe"), b"MZ")


def test_gbk_text_files_are_decoded() -> None:
    assert read(Path("old.txt"), "公积金".encode("gbk")).sections[0].text == "公积金"


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('he said "drop" OR NOT x*') == '"he" OR "said" OR "drop" OR "not" OR "x"'
    assert fts_query("？？") is None


def test_words_in_most_chunks_of_a_large_base_are_left_out_of_keyword_queries(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from plusn.knowledge import sqlite_store as store_mod

    s = SQLiteStore(tmp_path / "kb.sqlite")
    for n in range(20):  # 的 and 公司 are in every chunk; 年假 in one
        s.put(f"d{n}", "1", "", {}, [(0, "", f"公司的第{n}号通知" + ("，年假十五天" if n == 7 else ""))],
              np.ones((1, 3), np.float32))
    assert s.common_words() == frozenset()  # a small base: every word counts
    monkeypatch.setattr(store_mod, "COMMON_MIN_CHUNKS", 10)
    s.put("d0", "2", "", {}, [(0, "", "公司的第0号通知")], np.ones((1, 3), np.float32))  # a write refreshes the cache
    assert {"的", "公司"} <= s.common_words() and "年假" not in s.common_words()
    q = fts_query("公司的年假", s.common_words())
    assert q and '"公司"' not in q and '"的"' not in q and "年" in q
    assert fts_query("公司的", s.common_words()) == '"公司" OR "的"'  # nothing else left: keep them
    hits = s.bm25("公司的年假有几天", 5)
    assert s.fetch([hits[0][0]])[hits[0][0]].source == "d7"


def test_sqlite_store_replaces_deletes_and_filters(tmp_path: Path) -> None:
    import numpy as np

    s = SQLiteStore(tmp_path / "kb.sqlite")
    v = np.eye(3, dtype=np.float32)
    s.put("a", "1", "A", {"team": "hr"}, [(0, "公积金", "提取需要身份证"), (1, "", "other")], v[:2])
    s.put("b", "1", "B", {"team": "it"}, [(0, "", "公积金 VPN")], v[2:])
    for n, text in enumerate(["食堂周末不开放", "年假十五天", "报销需要发票", "打印机在三楼"]):  # for word statistics
        s.put(f"f{n}", "1", "F", {}, [(0, "", text)], v[:1])
    assert s.stats() == {"documents": 6, "chunks": 7}
    s.put("a", "2", "A", {"team": "hr"}, [(0, "公积金", "提取需要身份证和合同")], v[:1])  # replaced, not added
    assert s.stats() == {"documents": 6, "chunks": 6} and s.fingerprints()["a"] == "2"
    hits = s.bm25("公积金合同", 10)
    assert s.fetch([hits[0][0]])[hits[0][0]].source == "a"
    it = s.allowed({"team": "it"})
    assert [c.source for c in s.fetch(list(it)).values()] == ["b"]
    assert s.dense(v[0], 5, it)[0][0] in it
    assert s.delete(["a", "zzz"]) == 1 and s.bm25("身份证", 5) == []


def _ranked(*ids: int) -> fusion.Ranked:
    return [(i, float(len(ids) - n)) for n, i in enumerate(ids)]


def test_calibration_keeps_the_better_single_method_without_clear_evidence() -> None:
    # BM25 finds the relevant chunk (1) first on every query; dense ranks it fifth
    queries = [(_ranked(1, 2, 3, 4, 5), _ranked(6, 7, 8, 9, 1)) for _ in range(30)]

    def gain(q: int, ranked: fusion.Ranked) -> float:
        return 1.0 / (1 + [i for i, _ in ranked].index(1)) if any(i == 1 for i, _ in ranked) else 0.0

    p = fusion.calibrate(queries, gain)
    assert p.calibrated_on == 30
    assert gain(0, fusion.combine(*queries[0], p)) == 1.0
    assert fusion.calibrate([], gain) == fusion.DEFAULT


def test_calibration_fuses_when_the_combination_is_clearly_better() -> None:
    # half the queries are found only by BM25, half only by dense: fusion wins on every query
    queries = [(_ranked(1, 2, 3), _ranked(4, 5, 6)) if n % 2 else (_ranked(4, 5, 6), _ranked(1, 2, 3))
               for n in range(40)]

    def gain(q: int, ranked: fusion.Ranked) -> float:
        top2 = [i for i, _ in ranked[:2]]
        return float(1 in top2) + float(4 in top2)

    p = fusion.calibrate(queries, gain)
    assert 0 < p.alpha < 1 and "beat" in p.note


def test_rrf_and_single_modes() -> None:
    assert [i for i, _ in fusion.rrf([_ranked(1, 2), _ranked(2, 3)])][:1] == [2]
    assert fusion.fuse("bm25", _ranked(1), _ranked(2)) == _ranked(1)
    assert fusion.fuse("dense", _ranked(1), _ranked(2)) == _ranked(2)


ATTACKS = [
    "DROP TABLE products",
    "UPDATE products SET price = 0",
    "DELETE FROM products",
    "INSERT INTO products VALUES ('x', 1, 0)",
    "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "SELECT 1; DROP TABLE products",
    "SELECT * FROM products; UPDATE products SET price = 0",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = DELETE",
    "WITH gone AS (DELETE FROM products RETURNING *) SELECT * FROM gone",
    "SELECT load_extension('/tmp/evil.so')",
    "CREATE TABLE t AS SELECT * FROM products",
    "VACUUM INTO '/tmp/copy.db'",
    "SELECT * INTO backup FROM products",
]


@pytest.mark.parametrize("sql", ATTACKS)
def test_writes_are_refused_by_the_statement_check(sql: str) -> None:
    with pytest.raises(UnsafeSQL):
        validate(sql, "sqlite")


def test_reads_pass_the_statement_check() -> None:
    for sql in ("SELECT name FROM products WHERE name = 'DROP TABLE'", "select a from t union select b from u",
                "WITH c AS (SELECT 1 AS x) SELECT x FROM c;"):
        assert validate(sql, "sqlite")


@pytest.fixture
def shop(tmp_path: Path) -> SQLTool:
    conn = sqlite3.connect(tmp_path / "shop.db")
    conn.executescript("CREATE TABLE products(name TEXT, price REAL); INSERT INTO products VALUES ('cup', 9.5);"
                       "INSERT INTO products SELECT 'item' || value, value FROM json_each('[1,2,3,4,5]');")
    conn.commit()
    conn.close()
    return SQLTool("shop", SQLSpec(url=f"sqlite:///{tmp_path / 'shop.db'}", max_rows=3, timeout_s=0.5))


def test_the_connection_refuses_writes_even_without_the_statement_check(shop: SQLTool) -> None:
    for sql in ("UPDATE products SET price = 0", "DROP TABLE products", "PRAGMA writable_schema = ON",
                "ATTACH DATABASE ':memory:' AS x"):
        with pytest.raises(InvalidRequest):
            shop._run(sql)  # straight to the read-only connection, skipping validate()
    assert shop._run("SELECT price FROM products WHERE name = 'cup'").rows == [[9.5]]


def test_row_and_time_limits_and_schema(shop: SQLTool) -> None:
    import asyncio

    r = asyncio.run(shop.query("SELECT name FROM products"))
    assert len(r.rows) == 3 and r.truncated
    with pytest.raises(InvalidRequest, match="longer than"):
        asyncio.run(shop.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"))
    assert "TABLE products(name TEXT, price REAL)" in asyncio.run(shop.describe())


def test_helpers_for_grounded_answers() -> None:
    assert extract_sql("Sure:\n```sql\nSELECT 1;\n```") == "SELECT 1"
    assert extract_sql("The query is SELECT a FROM t") == "SELECT a FROM t"
    assert invented_numbers("It costs 89 yuan, 1,200 in total, 59 off", "89.0 | 1200") == ["59"]
    import datetime as dt

    line = now_line("Asia/Shanghai", lambda: dt.datetime(2026, 1, 31, 20, 30, tzinfo=dt.UTC))
    assert "2026-02-01 (Sunday), 04:30" in line and "2026年2月1日，星期日，04:30" in line
    local = now_line("local", lambda: dt.datetime(2026, 1, 31, 20, 30, tzinfo=dt.UTC))
    here = dt.datetime(2026, 1, 31, 20, 30, tzinfo=dt.UTC).astimezone()  # this machine's zone
    assert f"{here:%Y-%m-%d}" in local and f"{here:%H:%M}" in local and f"UTC{here:%z}" in local


def reverse_hits(query: str, hits: list) -> list:  # a rerank hook used below
    return list(reversed(hits))


def test_the_rerank_hook_reorders_hits(tmp_path: Path) -> None:
    import asyncio

    import numpy as np

    from plusn.knowledge.knowledge_base import KnowledgeBase
    from plusn.knowledge.spec import KnowledgeSpec

    class Flat:  # an embedder that sees every text alike: the order comes from BM25 and the hook
        name = "flat"

        async def embed(self, texts: list[str], *, kind: str = "passage") -> tuple[list[list[float]], int]:
            return [[1.0, 0.0] for _ in texts], 0

    store = SQLiteStore(tmp_path / "kb.sqlite")
    for n, text in enumerate(["公积金 公积金 公积金", "公积金", "食堂", "年假", "报销"]):
        store.put(f"d{n}", "h", "T", {}, [(0, "", text)], np.array([[1.0, 0.0]], dtype=np.float32))
    spec = KnowledgeSpec(rerank="test_knowledge_parts:reverse_hits", top_k=2)
    kb = KnowledgeBase("kb", spec, store, Flat())  # type: ignore[arg-type]
    plain = KnowledgeBase("kb", KnowledgeSpec(top_k=2), store, Flat())  # type: ignore[arg-type]
    before = [h.source for h in asyncio.run(plain.search("公积金", mode="bm25"))]
    after = [h.source for h in asyncio.run(kb.search("公积金", mode="bm25"))]
    assert before == ["d0", "d1"] and after == ["d1", "d0"]
