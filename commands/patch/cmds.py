"""Correction-rule commands: ``patch add|list|show|enable|disable|remove|test|log|import|export``.

The same handlers serve ``opencode patch ...`` and ``/patch ...`` in chat. Rules are checked when
they are added (a bad regex is an error here, never at stream time); ``patch test`` shows what
the enabled rules would do to a text without touching the log. Declarations only: the rule
engine is imported inside handlers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)

SCOPES = ("text", "reasoning", "tool_arguments")
MODES = ("apply", "shadow")
EXPORT_KEYS: tuple[str, ...] = (
    "pattern",
    "replacement",
    "regex",
    "scope",
    "model",
    "priority",
    "enabled",
    "mode",
    "description",
)


def _repo(ctx: CommandContext) -> Any:
    from opencode.sessions.corrections.repo import CorrectionRepo

    return CorrectionRepo(ctx.store)


def _rule_id(text: str) -> int:
    try:
        return int(text.removeprefix("#"))
    except ValueError:
        raise CommandError(f"rule ids are numbers (see `patch list`), not {text!r}") from None


async def _get(ctx: CommandContext, text: str) -> Any:
    rule = await _repo(ctx).get(_rule_id(text))
    if rule is None:
        raise CommandError(f"no correction rule {text}; see `patch list`")
    return rule


def _short(text: str, width: int = 40) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


def _rows(rules: list[Any]) -> list[list[Any]]:
    return [
        [
            r.id,
            "on" if r.enabled else "off",
            r.mode,
            r.scope,
            ("re " if r.regex else "") + _short(r.pattern),
            _short(r.replacement),
            r.model,
            r.priority,
            r.hits,
        ]
        for r in rules
    ]


COLUMNS = ["id", "state", "mode", "scope", "pattern", "replacement", "model", "priority", "hits"]


@command(
    "patch",
    "add",
    help="add a correction rule applied to streamed model output",
    args=[
        Arg("pattern", positional=True, required=True, help="text (or regex with --regex)"),
        Arg("replacement", positional=True, required=True, help="what to put instead"),
        Arg("regex", option="--regex", flag=True, help="PATTERN is a regular expression"),
        Arg("scope", option="--scope", choices=SCOPES, help="text (default), reasoning, ..."),
        Arg("mode", option="--mode", choices=MODES, help="apply (default) or shadow (log only)"),
        Arg("model", option="--model", help="glob over PROVIDER/MODEL (default: every model)"),
        Arg("priority", option="--priority", type=int, help="higher wins a tie (default 0)"),
        Arg("description", option="--description", help="why the rule exists"),
    ],
)
async def patch_add(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.corrections.rules import Rule, RuleError

    rule = Rule(
        pattern=args["pattern"],
        replacement=args["replacement"],
        regex=bool(args.get("regex")),
        scope=args.get("scope") or "text",
        mode=args.get("mode") or "apply",
        model=args.get("model") or "*",
        priority=args.get("priority") or 0,
        description=args.get("description") or "",
    )
    try:
        stored = await _repo(ctx).add(rule)
    except RuleError as exc:
        raise CommandError(f"patch add: {exc}", exit_code=2) from None
    return CommandResult(
        data=stored.to_dict(),
        text=f"Added correction rule {stored.id} ({stored.mode}, {stored.scope}).",
        changed=frozenset({"corrections"}),
    )


@command("patch", "list", help="list correction rules with their hit counts")
async def patch_list(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    rules = await _repo(ctx).rules()
    if not rules:
        return CommandResult(
            data=[], text='No correction rules. Add one with `patch add "teh" "the"`.'
        )
    return CommandResult(data=[r.to_dict() for r in rules], tables=[Table(COLUMNS, _rows(rules))])


@command(
    "patch",
    "show",
    help="show one correction rule and its recent hits",
    args=[Arg("id", positional=True, required=True, help="rule id")],
)
async def patch_show(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    rule = await _get(ctx, args["id"])
    recent = [e for e in await _repo(ctx).log(limit=200) if e["rule_id"] == str(rule.id)][:10]
    lines = [f"Rule {rule.id}: {'enabled' if rule.enabled else 'disabled'}, {rule.mode}"]
    lines += [
        f"  pattern:     {rule.pattern!r}" + (" (regex)" if rule.regex else ""),
        f"  replacement: {rule.replacement!r}",
        f"  scope: {rule.scope}   model: {rule.model}   priority: {rule.priority}",
        f"  hits: {rule.hits}" + (f"   ({rule.description})" if rule.description else ""),
    ]
    for entry in recent:
        lines.append(
            f"  {_when(entry['created_at'])}  {entry['before_excerpt']!r} -> "
            f"{entry['after_excerpt']!r}"
        )
    return CommandResult(data={**rule.to_dict(), "recent": recent}, text="\n".join(lines))


async def _set(ctx: CommandContext, text: str, **fields: Any) -> CommandResult:
    from opencode.sessions.corrections.rules import RuleError

    try:
        rule = await _repo(ctx).update(_rule_id(text), **fields)
    except RuleError as exc:  # a rule stored by an older version that no longer compiles
        raise CommandError(f"rule {text}: {exc}") from None
    if rule is None:
        raise CommandError(f"no correction rule {text}; see `patch list`")
    state = "enabled" if rule.enabled else "disabled"
    return CommandResult(
        data=rule.to_dict(),
        text=f"Rule {rule.id} is {state} ({rule.mode}).",
        changed=frozenset({"corrections"}),
    )


@command("patch", "enable", help="enable a rule", args=[Arg("id", positional=True, required=True)])
async def patch_enable(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    return await _set(ctx, args["id"], enabled=True)


@command(
    "patch", "disable", help="disable a rule", args=[Arg("id", positional=True, required=True)]
)
async def patch_disable(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    return await _set(ctx, args["id"], enabled=False)


@command("patch", "remove", help="delete a rule", args=[Arg("id", positional=True, required=True)])
async def patch_remove(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    rule_id = _rule_id(args["id"])
    if not await _repo(ctx).remove(rule_id):
        raise CommandError(f"no correction rule {args['id']}; see `patch list`")
    return CommandResult(
        data={"removed": rule_id},
        text=f"Removed correction rule {rule_id} (its log entries are kept).",
        changed=frozenset({"corrections"}),
    )


@command(
    "patch",
    "test",
    help="show what the enabled rules would do to TEXT (nothing is logged)",
    args=[
        Arg("text", positional=True, required=True, multiple=True, help="the text to correct"),
        Arg("scope", option="--scope", choices=SCOPES, help="which rules (default text)"),
        Arg("model", option="--model", help="PROVIDER/MODEL the rules are filtered by"),
    ],
)
async def patch_test(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.corrections.window import Hit, rewrite_all

    text = " ".join(args["text"])
    scope = args.get("scope") or "text"
    compiled, warnings = await _repo(ctx).compiled_for(args.get("model") or ctx.config.model)
    hits: list[Hit] = []
    result = rewrite_all([c for c in compiled if c.rule.scope == scope], text, hits.append)
    lines = [result, ""]
    lines += [
        f"rule {h.rule.rule.id} ({h.rule.rule.mode}): {h.before!r} -> {h.after!r}" for h in hits
    ] or ["no rule matched"]
    lines += warnings
    return CommandResult(
        data={
            "input": text,
            "output": result,
            "hits": [
                {"rule": h.rule.rule.id, "before": h.before, "after": h.after, "applied": h.applied}
                for h in hits
            ],
            "warnings": warnings,
        },
        text="\n".join(lines),
    )


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


@command(
    "patch",
    "log",
    help="recent corrections: what each rule changed, where and when",
    args=[
        Arg("limit", option="--limit", type=int, default=50, help="at most N (default 50)"),
        Arg("since", option="--since", type=float, help="only after this Unix time"),
    ],
)
async def patch_log(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    entries = await _repo(ctx).log(limit=args["limit"], since=args.get("since"))
    if not entries:
        return CommandResult(data=[], text="No corrections logged yet.")
    rows = [
        [
            _when(e["created_at"]),
            e["rule_id"],
            e["mode"],
            e["scope"],
            _short(e["before_excerpt"], 30),
            _short(e["after_excerpt"], 30),
            e["session_id"] or e["request_id"] or "",
        ]
        for e in entries
    ]
    columns = ["time", "rule", "mode", "scope", "before", "after", "session/request"]
    return CommandResult(data=entries, tables=[Table(columns, rows)])


@command(
    "patch",
    "export",
    help="write every rule as JSON (stdout, or -o FILE)",
    args=[Arg("output", option="--output", short="-o", help="file to write")],
)
async def patch_export(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    rules = await _repo(ctx).rules()
    doc = {"rules": [{k: r.to_dict()[k] for k in EXPORT_KEYS} for r in rules]}
    body = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if args.get("output"):
        path = Path(args["output"]).expanduser()
        path = path if path.is_absolute() else ctx.cwd / path
        try:
            path.write_text(body, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from None
        return CommandResult(data=doc, text=f"Wrote {len(rules)} rule(s) to {path}.")
    return CommandResult(data=doc, text=body.rstrip("\n"))


@command(
    "patch",
    "import",
    help="add the rules in a JSON file written by `patch export`",
    args=[Arg("file", positional=True, required=True, help="the JSON file")],
)
async def patch_import(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.corrections.rules import Rule, RuleError, compile_rule

    path = Path(args["file"]).expanduser()
    path = path if path.is_absolute() else ctx.cwd / path
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    items = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise CommandError(f'{path}: expected {{"rules": [...]}} as written by `patch export`')
    rules = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or "pattern" not in item or "replacement" not in item:
            raise CommandError(f"{path}: rule {n} needs a pattern and a replacement")
        unknown = set(item) - set(EXPORT_KEYS)
        if unknown:
            raise CommandError(f"{path}: rule {n} has unknown keys {sorted(unknown)}")
        rule = Rule(**item)
        try:
            compile_rule(rule)  # every rule is checked before any is stored
        except RuleError as exc:
            raise CommandError(f"{path}: rule {n}: {exc}", exit_code=2) from None
        rules.append(rule)
    repo = _repo(ctx)
    async with ctx.store.transaction():
        added = [await repo.add(rule) for rule in rules]
    return CommandResult(
        data=[r.to_dict() for r in added],
        text=f"Imported {len(added)} rule(s) from {path}.",
        changed=frozenset({"corrections"}),
    )
