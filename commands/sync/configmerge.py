"""Merging the source's opencode.toml into a target's, by the plan's strategy, with tomlkit so
the target's comments, order and formatting survive.

- keys in ``keep`` (default_model/model, data_dir, log_level): the target's value stays; they are
  never copied in, since they are target-specific;
- tables in ``merge`` (providers/provider, tools, permission): entries the target lacks are added,
  entries it has are kept as they are;
- any other key: added when the target lacks it (a new option), otherwise the target's stays.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.toml_document import TOMLDocument

from opencode.commands.registry import CommandError


@dataclass(slots=True)
class MergeResult:
    text: str
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added)


def parse(path: Path, text: str) -> TOMLDocument:
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise CommandError(
            f"{path}:{exc.line}:{exc.col}: invalid TOML ({exc}); fix the target's config "
            "before syncing — nothing was changed"
        ) from exc


def read_config(path: Path) -> str | None:
    """The file's text, None when absent; a clear error when it cannot be read."""
    if not path.exists():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(
            f"cannot read target config {path}: {exc}; fix its permissions or encoding "
            "— nothing was changed"
        ) from exc


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def merge(
    target_path: Path,
    target_text: str | None,
    source_path: Path,
    source_text: str,
    keep: tuple[str, ...],
    merge_tables: tuple[str, ...],
) -> MergeResult:
    source = parse(source_path, source_text)
    target = parse(target_path, target_text) if target_text is not None else tomlkit.document()
    result = MergeResult(text="")
    for key in list(source.keys()):
        value = source[key]
        if key in keep:
            if key in target:
                result.kept.append(key)
            continue
        if key in merge_tables and _is_table(value):
            if key not in target:
                target[key] = copy.deepcopy(value)
                result.added.append(key)
                continue
            existing = target[key]
            if not _is_table(existing):
                result.kept.append(key)
                continue
            for sub in list(value.keys()):
                if sub in existing:
                    result.kept.append(f"{key}.{sub}")
                else:
                    existing[sub] = copy.deepcopy(value[sub])
                    result.added.append(f"{key}.{sub}")
            continue
        if key in target:
            result.kept.append(key)
        else:
            target[key] = copy.deepcopy(value)
            result.added.append(key)
    result.text = tomlkit.dumps(target)
    if target_text is not None and not result.added:
        result.text = target_text  # byte-identical when nothing is new
    return result
