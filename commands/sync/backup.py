"""Backups of a target: content-addressed blobs plus a sha256 manifest under the data dir, and
byte-exact restores.

Layout: ``<data_dir>/backups/<target>/<id>/blobs/<sha256>`` and ``manifest.json``. A backup row
is marked complete only after every blob and the manifest are on disk, so a crash during the
backup leaves nothing that could be restored half-way; a crash after it leaves a backup that
``target restore`` brings back exactly.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.commands.registry import CommandError
from opencode.commands.sync.files import atomic_write, sha256_file, tree_files
from opencode.commands.target.repo import Backup, BackupFile, Target, TargetRepo


def backups_root(data_dir: Path, target: Target) -> Path:
    return data_dir / "backups" / f"{target.id}-{target.name}"


async def create_backup(
    repo: TargetRepo,
    target: Target,
    data_dir: Path,
    entries: list[tuple[str, Path]],
    reason: str,
    roots: dict[str, Any],
) -> Backup:
    """Copy every existing file in ``entries`` (component, absolute path) aside; files that do
    not exist yet are recorded as ``existed=0`` so a restore removes them."""
    root = backups_root(data_dir, target)
    backup_id = await repo.create_backup(target.id, reason, str(root))
    directory = root / str(backup_id)
    # backups hold copies of the target's config (api keys): only the owner may read them
    await asyncio.to_thread(_private_dirs, data_dir / "backups", directory / "blobs")
    files = await asyncio.to_thread(_copy_blobs, entries, directory / "blobs")
    roots = {
        **roots,
        "components": sorted(set(roots.get("components", [])) | {f.component for f in files}),
    }
    manifest = {
        "backup_id": backup_id,
        "target": target.name,
        "roots": roots,
        "files": [
            {
                "component": f.component,
                "path": f.path,
                "existed": f.existed,
                "sha256": f.sha256,
                "size": f.size,
                "mode": f.mode,
            }
            for f in files
        ],
    }
    atomic_write(directory / "manifest.json", json.dumps(manifest, indent=1).encode(), 0o600)
    await repo.complete_backup(backup_id, files, roots)
    backup = await repo.backup(target.id, backup_id)
    assert backup is not None
    return backup


def _private_dirs(top: Path, leaf: Path) -> None:
    """Create ``top`` .. ``leaf`` as 0700 folders (and narrow ones an older version made)."""
    chain = [leaf, *leaf.parents]
    for folder in reversed(chain[: chain.index(top) + 1]):
        folder.mkdir(mode=0o700, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) != 0o700:
            folder.chmod(0o700)


def _copy_private(src: Path, blob: Path) -> None:
    """Copy to a 0600 temp file, fsync, then rename: never readable by others, never half."""
    tmp = blob.with_name(f".{blob.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out, src.open("rb") as handle:
        shutil.copyfileobj(handle, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, blob)


def _copy_blobs(entries: list[tuple[str, Path]], blobs: Path) -> list[BackupFile]:
    """Copy each existing file to ``blobs/<sha256>`` (fsynced, 0600); runs in a worker thread."""
    blobs.mkdir(mode=0o700, parents=True, exist_ok=True)
    files: list[BackupFile] = []
    seen: set[str] = set()
    for component, path in entries:
        key = str(path)
        if key in seen:
            continue
        seen.add(key)
        if path.is_file():
            digest = sha256_file(path)
            blob = blobs / digest
            if not blob.exists():
                _copy_private(path, blob)
            if sha256_file(blob) != digest:
                raise CommandError(f"backup of {path} changed while copying; retry the backup")
            stat = path.stat()
            files.append(BackupFile(component, key, True, digest, stat.st_size, stat.st_mode))
        else:
            files.append(BackupFile(component, key, False))
    return files


@dataclass(slots=True)
class RestoreReport:
    restored: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "restored": len(self.restored),
            "removed": len(self.removed),
            "unchanged": len(self.unchanged),
            "mismatched": self.mismatched,
            "verified": not self.mismatched,
        }


def _remove(path: Path, stop: Path | None, report: RestoreReport) -> None:
    if path.is_file() or path.is_symlink():
        path.unlink()
        report.removed.append(str(path))
    # prune folders the sync created and left empty (dist-info, new doc folders)
    parent = path.parent
    while stop is not None and parent != stop and stop in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


def restore_backup(
    backup: Backup,
    components: set[str] | None = None,
    current_code: list[str] | None = None,
    target_root: Path | None = None,
) -> RestoreReport:
    """Put every file of the backup (restricted to ``components``) back byte for byte, remove
    files the sync created, and check each restored file's sha256 against the manifest.

    ``current_code``: files the code distribution owns now; those not in the backup are removed
    (they came with the new install)."""
    if not backup.complete:
        raise CommandError(
            f"backup {backup.id} is incomplete (the process stopped while writing it); "
            "pick another with `opencode target backups NAME`"
        )
    blobs = Path(backup.dir) / str(backup.id) / "blobs"
    wanted = [f for f in backup.files if components is None or f.component in components]
    # every copy is checked before the first file is touched: a damaged backup must not leave
    # the target half-restored
    _check_blobs(backup, blobs, wanted)
    report = RestoreReport()
    listed = {f.path for f in backup.files}

    if current_code is not None and (components is None or "code" in components):
        for owned in current_code:
            if owned not in listed:
                _remove(Path(owned), _site_root(owned), report)

    snapshot: dict[str, str] = backup.roots.get("snapshot", {})
    for component, root in snapshot.items():
        if components is not None and component not in components:
            continue
        root_path = Path(root)
        if root_path.is_dir():
            for rel in tree_files(root_path):
                full = root_path / rel
                if str(full) not in listed:
                    _remove(full, root_path, report)

    for entry in wanted:
        path = Path(entry.path)
        if not entry.existed:
            if path.exists():
                inside = target_root is not None and target_root in path.parents
                _remove(path, target_root if inside else path.parent, report)
            continue
        assert entry.sha256 is not None
        blob = blobs / entry.sha256
        if path.is_file() and sha256_file(path) == entry.sha256:
            # already identical: rewriting (and fsyncing) it would only cost time
            if entry.mode is not None and path.stat().st_mode != entry.mode:
                path.chmod(entry.mode & 0o7777)
            report.unchanged.append(entry.path)
            continue
        atomic_write(path, blob.read_bytes(), entry.mode)
        report.restored.append(entry.path)
        if sha256_file(path) != entry.sha256:
            report.mismatched.append(entry.path)
    return report


def _check_blobs(backup: Backup, blobs: Path, wanted: list[BackupFile]) -> None:
    checked: set[str] = set()
    for entry in wanted:
        if not entry.existed or entry.sha256 is None or entry.sha256 in checked:
            continue
        blob = blobs / entry.sha256
        if not blob.is_file():
            problem = "is missing"
        else:
            try:
                problem = "" if sha256_file(blob) == entry.sha256 else "is damaged (sha256 differs)"
            except OSError as exc:
                problem = f"cannot be read ({exc.strerror or exc})"
        if problem:
            raise CommandError(
                f"backup {backup.id} {problem}: the copy of {entry.path} ({blob}); nothing was "
                "changed in the target — restore another backup (`opencode target backups NAME`)"
            )
        checked.add(entry.sha256)


def _site_root(path: str) -> Path | None:
    """The site-packages (or bin) folder above a distribution file: where pruning stops."""
    parts = Path(path).parents
    for parent in parts:
        if parent.name in ("site-packages", "dist-packages", "bin", "Scripts"):
            return parent
    return None


async def prune_backups(repo: TargetRepo, target: Target, keep: int) -> tuple[list[int], list[int]]:
    """Delete all but the newest ``keep`` backups of ``target`` (rows and blob folders).
    The backup of an interrupted sync run is never deleted: it is what restores the target.
    Returns (deleted ids, kept ids)."""
    protected: set[int] = set()
    interrupted = await repo.interrupted_run(target.id)
    if interrupted is not None and interrupted["backup_id"] is not None:
        protected.add(int(interrupted["backup_id"]))
    backups = await repo.backups(target.id)  # newest first
    deleted, kept = [], []
    for index, backup in enumerate(backups):
        if index < keep or backup.id in protected:
            kept.append(backup.id)
            continue
        folder = Path(backup.dir) / str(backup.id)
        await asyncio.to_thread(shutil.rmtree, folder, True)
        await repo.delete_backup(backup.id)
        deleted.append(backup.id)
    return deleted, kept
