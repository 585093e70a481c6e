"""The CLI's offline commands, through click's runner against real files."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import SCRIPTED_FLEET, write_config

from plusn.cli import main
from plusn.gateway.auth import KeyStore, hash_key
from plusn.ledger.store import Ledger, Record


def test_config_check_ok_and_error(tmp_path: Path) -> None:
    good = write_config(tmp_path, {"models": SCRIPTED_FLEET})
    r = CliRunner().invoke(main, ["config", "check", str(good)])
    assert r.exit_code == 0 and "ok:" in r.output and "echo" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  m:\n    type: scripted\n    max_concurrency: 0\n")
    r = CliRunner().invoke(main, ["config", "check", str(bad)])
    assert r.exit_code != 0 and "bad.yaml: models.m.max_concurrency" in r.output


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"models": SCRIPTED_FLEET})
    run = CliRunner()
    r = run.invoke(main, ["keys", "create", "--config", str(cfg), "--name", "team-a", "--model", "echo"])
    assert r.exit_code == 0
    key = r.stdout.strip().splitlines()[0]
    assert key.startswith("pn-")
    store = KeyStore(tmp_path / "data" / "plusn.db")
    assert store.lookup(key) is not None and hash_key(key) != key
    store.close()
    listed = run.invoke(main, ["keys", "list", "--config", str(cfg)]).output
    assert "team-a" in listed and "echo" in listed and key not in listed
    assert run.invoke(main, ["keys", "revoke", "--config", str(cfg), "team-a"]).exit_code == 0
    assert run.invoke(main, ["keys", "revoke", "--config", str(cfg), "team-a"]).exit_code != 0
    dup = run.invoke(main, ["keys", "create", "--config", str(cfg), "--name", "team-a"])
    assert dup.exit_code != 0 and "already exists" in dup.output


def test_usage_reads_the_ledger(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"models": SCRIPTED_FLEET})
    ledger = Ledger(tmp_path / "data" / "plusn.db")
    ledger.open()
    ledger.add(Record(id="1", endpoint="/v1/chat/completions", served_models=["echo"], status=200,
                      prompt_tokens=11, completion_tokens=7, cost=0.025))
    ledger.close()
    r = CliRunner().invoke(main, ["usage", "--config", str(cfg), "--by", "model"])
    assert r.exit_code == 0
    line = next(x for x in r.output.splitlines() if x.startswith("echo"))
    assert line.split() == ["echo", "1", "0", "11", "7", "0.025"]


def test_models_lists_the_fleet(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"models": SCRIPTED_FLEET})
    r = CliRunner().invoke(main, ["models", "--config", str(cfg)])
    assert r.exit_code == 0
    base = next(x for x in r.output.splitlines() if x.startswith("base"))
    assert "completion" in base and "chat" not in base
