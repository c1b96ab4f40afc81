"""The workspace snapshot around a bash call, on real directory trees: what counts as the
workspace (gitignore rules, inside git or not), what is a change (bytes, not timestamps),
racy timestamps, and the budget's "not covered" report."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from opencode.sessions.config import ConfigError
from opencode.sessions.rewind.snapshots import (
    ABSENT,
    SnapshotBudget,
    WorkspaceSnapshot,
    content_hash,
)


def tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def names(root: Path, changes: list) -> dict[str, bytes | None]:  # type: ignore[type-arg]
    return {Path(c.path).relative_to(root).as_posix(): c.before for c in changes}


@pytest.mark.parametrize("git", [False, True])
def test_changes_to_ignored_files_are_not_recorded(tmp_path: Path, git: bool) -> None:
    if git:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    tree(
        tmp_path,
        {
            ".gitignore": "build/\n*.log\n!keep.log\n",
            "src/a.py": "a\n",
            "build/out.o": "o\n",
            "x.log": "log\n",
            "keep.log": "kept\n",
        },
    )
    snap = WorkspaceSnapshot(tmp_path, SnapshotBudget())
    snap.before_call()
    (tmp_path / "src" / "a.py").write_text("A\n")
    (tmp_path / "build" / "out.o").write_text("O\n")
    (tmp_path / "x.log").write_text("LOG\n")
    (tmp_path / "keep.log").unlink()
    (tmp_path / "src" / "b.py").write_text("b\n")
    changes, report = snap.after_call()
    assert names(tmp_path, changes) == {"keep.log": b"kept\n", "src/a.py": b"a\n", "src/b.py": None}
    deleted = next(c for c in changes if c.path.endswith("keep.log"))
    assert deleted.after_hash == ABSENT
    created = next(c for c in changes if c.path.endswith("b.py"))
    assert created.after_hash == content_hash(b"b\n")
    assert report.not_covered_count == 0


def test_same_bytes_is_no_change_and_the_next_call_starts_from_the_last(tmp_path: Path) -> None:
    tree(tmp_path, {"a.txt": "a\n", "b.txt": "b\n"})
    snap = WorkspaceSnapshot(tmp_path, SnapshotBudget())
    snap.before_call()
    os.utime(tmp_path / "a.txt")  # touched, not changed
    (tmp_path / "b.txt").write_text("b\n")  # rewritten with the same bytes
    assert snap.after_call()[0] == []

    # Between calls the user edits a.txt: the next call's baseline is the user's version.
    (tmp_path / "a.txt").write_text("user\n")
    snap.before_call()
    (tmp_path / "a.txt").write_text("bash\n")
    changes, _ = snap.after_call()
    assert names(tmp_path, changes) == {"a.txt": b"user\n"}


def test_a_racy_file_is_compared_by_content(tmp_path: Path) -> None:
    """Same size, mtime put back: only content says it changed (the file was read within a
    timestamp tick of its last change, so its key is not trusted)."""
    path = tmp_path / "a.txt"
    path.write_text("aaaa\n")
    snap = WorkspaceSnapshot(tmp_path, SnapshotBudget())
    snap.before_call()
    st = path.stat()
    with open(path, "r+b") as fh:  # in place: same inode, same size
        fh.write(b"bbbb\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    changes, _ = snap.after_call()
    assert names(tmp_path, changes) == {"a.txt": b"aaaa\n"}


def test_over_budget_is_reported_not_copied(tmp_path: Path) -> None:
    tree(tmp_path, {f"d{i}/f{j}.txt": f"{i}{j}\n" for i in range(4) for j in range(3)})
    (tmp_path / "big.bin").write_bytes(b"x" * 2000)
    budget = SnapshotBudget(max_files=7, max_file_bytes=1000)
    snap = WorkspaceSnapshot(tmp_path, budget)
    snap.before_call()
    (tmp_path / "big.bin").write_bytes(b"y" * 2000)
    (tmp_path / "d3" / "f0.txt").write_text("changed where nobody looked\n")
    (tmp_path / "d0" / "f0.txt").write_text("changed\n")
    changes, report = snap.after_call()
    assert names(tmp_path, changes) == {"d0/f0.txt": b"00\n"}
    assert report.uncovered_changes == ["big.bin (larger than snapshot_max_file_bytes=1000)"]
    data = report.to_metadata()
    assert data["not_covered_count"] >= 2
    assert any("(over snapshot_max_files)" in line for line in data["not_covered"])
    assert "d3/ (over snapshot_max_files)" in data["not_covered"]


def test_byte_budget_stops_copying(tmp_path: Path) -> None:
    tree(tmp_path, {f"f{i}.txt": "z" * 100 for i in range(5)})
    snap = WorkspaceSnapshot(tmp_path, SnapshotBudget(max_bytes=250))
    snap.before_call()
    assert snap.kept_bytes <= 250
    assert sum("over snapshot_max_bytes=250" in why for why in snap.uncopied.values()) == 3


def test_links_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "link.txt").symlink_to(outside)
    (work / "dirlink").symlink_to(tmp_path)
    snap = WorkspaceSnapshot(work, SnapshotBudget())
    snap.before_call()
    assert snap.keys == {} and snap.content == {}
    outside.write_text("changed\n")
    assert snap.after_call()[0] == []


@pytest.mark.parametrize(
    "section, message",
    [
        ({"snapshot_max_files": 0}, "snapshot_max_files must be a positive integer, not 0"),
        ({"snapshot_max_bytes": "64M"}, "snapshot_max_bytes must be a positive integer"),
        ({"bash_snapshots": "no"}, "bash_snapshots must be true or false"),
    ],
)
def test_bad_budget_values_say_which_key(section: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message):
        SnapshotBudget.from_section(section)


def test_opencode_data_dir_inside_the_workspace_is_not_snapshotted(tmp_path: Path) -> None:
    tree(tmp_path, {"a.txt": "a\n", "data/opencode.db": "db\n"})
    budget = SnapshotBudget.from_section({}, exclude=(tmp_path / "data",))
    snap = WorkspaceSnapshot(tmp_path, budget)
    snap.before_call()
    (tmp_path / "data" / "opencode.db").write_text("db, written meanwhile\n")
    assert snap.after_call()[0] == []
    assert list(snap.keys) == [str(tmp_path / "a.txt")]


def test_env_files_are_watched_never_copied(tmp_path: Path) -> None:
    tree(tmp_path, {".env": "TOKEN=sk-live-123456789\n", ".env.example": "TOKEN=\n"})
    snap = WorkspaceSnapshot(tmp_path, SnapshotBudget())
    snap.before_call()
    assert list(snap.content) == [str(tmp_path / ".env.example")]
    (tmp_path / ".env").write_text("TOKEN=sk-live-987654321\n")
    changes, report = snap.after_call()
    assert changes == []
    assert report.uncovered_changes == [
        ".env (a .env file: secrets are never copied into the database)"
    ]
