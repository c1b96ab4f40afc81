"""``session import claude|codex|opencode [PATH]``: bring sessions in from other tools.

Idempotent (a second run adds nothing); records it cannot turn into messages are kept raw and
counted in the report, never dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.commands.registry import Arg, CommandContext, CommandError, CommandResult, command


@command(
    "session",
    "import",
    help="import sessions from Claude Code, Codex or opencode (TypeScript)",
    args=[
        Arg("source", positional=True, required=True, choices=("claude", "codex", "opencode")),
        Arg(
            "path",
            positional=True,
            help="a file or folder (default: ~/.claude/projects, ~/.codex/sessions, "
            "~/.local/share/opencode/storage)",
        ),
    ],
)
async def session_import(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.imports import ImportReport, claude, codex, opencode_ts, write

    source = args["source"]
    readers = {"claude": claude, "codex": codex, "opencode": opencode_ts}
    reader = readers[source]
    if args.get("path"):
        root = Path(args["path"]).expanduser()
        root = root if root.is_absolute() else ctx.cwd / root
    else:
        root = (
            opencode_ts.default_root()
            if source == "opencode"
            else getattr(reader, "DEFAULT_ROOT", Path(".")).expanduser()
        )
    if not root.exists():
        raise CommandError(
            f"{root} does not exist",
            hint=f"give the folder that holds the {source} sessions: "
            f"`opencode session import {source} PATH`",
        )
    report = ImportReport(source=source)
    for path in reader.files(root):
        report.files += 1
        try:
            sessions = reader.read(path)
        except (OSError, UnicodeDecodeError) as exc:
            report.failed[str(path)] = str(exc)
            continue
        for imported in sessions:
            await write(ctx.store, imported, report, ctx.config.literal_secrets())
    if report.files == 0:
        raise CommandError(
            f"no {source} session files under {root}",
            hint={
                "claude": "Claude Code keeps them as ~/.claude/projects/*/*.jsonl",
                "codex": "Codex keeps them as ~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl",
                "opencode": "opencode keeps them under ~/.local/share/opencode/storage/session/",
            }[source],
        )
    lines = [
        f"{source}: {report.files} file(s); sessions: {report.sessions_new} new, "
        f"{report.sessions_updated} updated, {report.sessions_unchanged} already imported; "
        f"{report.messages} message(s), {report.parts} part(s) added"
    ]
    if report.raw:
        kept = ", ".join(f"{k} {v}" for k, v in sorted(report.raw.items()))
        lines.append(f"kept raw (not shown as messages, stored in import_raw): {kept}")
    for path, why in report.failed.items():
        lines.append(f"could not read {path}: {why}")
    return CommandResult(
        data=report.to_dict(),
        text="\n".join(lines),
        changed=frozenset({"sessions"}),
        exit_code=1 if report.failed else 0,
    )
