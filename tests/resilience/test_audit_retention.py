"""The provider-call audit's retention: ``[audit] keep_days``, pruned on engine open at most once
a day, reported by ``opencode provider log``. Real SQLite files throughout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from opencode.sessions import trust
from opencode.sessions.config import ConfigError, load_config
from opencode.sessions.engine import Engine
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from opencode.sessions.providers.resilience import audit
from opencode.sessions.providers.resilience.audit import (
    DAY_S,
    AuditLog,
    CallRecord,
    last_prune,
    prune_if_due,
)
from opencode.sessions.store.db import Store
from tests.engine.helpers import db_path, opencode, query

NOW = 1_900_000_000.0


def _call(started_at: float) -> CallRecord:
    return CallRecord("p", "m", "http://127.0.0.1:1/v1", started_at, 12.0, "ok")


async def _record(store: Store, *ages_days: float, now: float = NOW) -> None:
    log = AuditLog(store)
    for age in ages_days:
        await log.record(_call(now - age * DAY_S))


async def _ages(store: Store, now: float = NOW) -> list[float]:
    rows = await store.fetchall("SELECT started_at FROM provider_call ORDER BY started_at")
    return [round((now - r["started_at"]) / DAY_S, 1) for r in rows]


async def test_rows_older_than_keep_days_go_and_the_rest_stay(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "a.db")
    try:
        await _record(store, 0.1, 29.9, 30.1, 45, 400)
        done = await prune_if_due(store, 30, now=NOW)
        assert done is not None and done.rows == 3 and done.cutoff == NOW - 30 * DAY_S
        assert await _ages(store) == [29.9, 0.1]
        assert await last_prune(store) == done
    finally:
        await store.close()


async def test_at_most_one_prune_a_day_whichever_process(tmp_path: Path) -> None:
    first = await Store.open(tmp_path / "a.db")
    second = await Store.open(tmp_path / "a.db")  # another process's connection
    try:
        await _record(first, 40)
        assert (await prune_if_due(first, 30, now=NOW)) is not None
        await _record(first, 40, now=NOW + 3600)
        # Later the same day, from the other connection: nothing is walked or deleted.
        assert await prune_if_due(second, 30, now=NOW + 3600) is None
        assert len(await _ages(first)) == 1
        again = await prune_if_due(second, 30, now=NOW + DAY_S + 1)
        assert again is not None and again.rows == 1
        assert await _ages(first) == []
        # A clock set back before the last prune is not "pruned in the last day".
        await _record(first, 45, now=NOW - 10 * DAY_S)
        assert await prune_if_due(first, 30, now=NOW - 10 * DAY_S) is not None
    finally:
        await first.close()
        await second.close()


async def test_keep_days_0_keeps_everything_and_no_old_rows_writes_nothing(
    tmp_path: Path,
) -> None:
    store = await Store.open(tmp_path / "a.db")
    try:
        await _record(store, 5000)
        assert await prune_if_due(store, 0, now=NOW) is None
        assert await _ages(store) == [5000.0]
        assert await last_prune(store) is None
        # Nothing older than keep_days: not even the day's marker is written.
        assert await prune_if_due(store, 10_000, now=NOW) is None
        assert await last_prune(store) is None
    finally:
        await store.close()


async def test_a_big_backlog_goes_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "PRUNE_BATCH", 7)
    store = await Store.open(tmp_path / "a.db")
    try:
        await _record(store, *([90.0] * 23), 1)
        done = await prune_if_due(store, 30, now=NOW)
        assert done is not None and done.rows == 23
        assert await _ages(store) == [1.0]
    finally:
        await store.close()


async def _deny(request: PermissionRequest) -> PermissionAnswer:
    return "deny"


async def test_engine_open_prunes_with_the_configured_keep_days(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.toml").write_text("[audit]\nkeep_days = 7\n", encoding="utf-8")
    config = load_config(project)
    store = await Store.open(config.db_path)
    now = time.time()
    await _record(store, 0.5, 6, 8, 20, now=now)
    await store.close()

    engine = Engine(config, project)
    await engine.open(_deny)
    await engine.close()
    ages = sorted(
        round((now - r["started_at"]) / DAY_S) for r in query("SELECT * FROM provider_call")
    )
    assert ages == [0, 6]  # 0.5 rounds to 0
    pruned = query("SELECT rows, keep_days FROM audit_prune")[0]
    assert (pruned["rows"], pruned["keep_days"]) == (2, 7)

    log = opencode(project, "provider", "log")
    assert log.code == 0, log.stderr
    assert "kept 7 day(s)" in log.stdout and ": 2 row(s) from before" in log.stdout, log.stdout
    assert db_path() == config.db_path


def test_keep_days_is_checked_and_not_set_by_an_untrusted_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "opencode.toml").write_text("[audit]\nkeep_days = -3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"opencode.toml:2: key audit.keep_days: expected whole"):
        load_config(tmp_path)
    (tmp_path / "opencode.toml").write_text("[audit]\nkeep_days = 1\n", encoding="utf-8")
    assert audit.keep_days(load_config(tmp_path)) == 1
    # A cloned project could otherwise wipe the audit in the user's own database.
    monkeypatch.delenv(trust.ENV_TRUST, raising=False)
    config = load_config(tmp_path)
    assert audit.keep_days(config) == audit.DEFAULT_KEEP_DAYS
    assert "[audit]" in capsys.readouterr().err
