"""``session compact ID [--focus TEXT]``: summarise a session's older turns now (also ``/compact``
in the chat). The messages stay; later turns send the summary in their place."""

from __future__ import annotations

from typing import Any

from opencode.commands.registry import Arg, CommandContext, CommandError, CommandResult, command


@command(
    "session",
    "compact",
    help="summarise a session's older turns (its messages are kept; see `session show --full`)",
    args=[
        Arg("id", positional=True, required=True, help="session id (a unique prefix works)"),
        Arg("focus", option="--focus", help="what the summary should keep in detail"),
    ],
)
async def session_compact(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.compaction import CompactionError
    from opencode.sessions.config import ConfigError
    from opencode.sessions.engine import Engine
    from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
    from opencode.sessions.store.sessions import SessionRepo

    record = await SessionRepo(ctx.store).get(args["id"])
    if record is None:
        raise CommandError(
            f"no session {args['id']!r} in {ctx.store.path}",
            hint="see `opencode session list --all`",
        )

    async def deny(request: PermissionRequest) -> PermissionAnswer:
        return "deny"  # the summary call offers no tools; nothing can ask

    engine = Engine(ctx.config, ctx.cwd)
    await engine.open(deny, store=ctx.store)
    try:
        ctx.progress(f"compacting {record.id} with {record.model} …")
        done = await engine.compact(record.id, focus=args.get("focus"))
    except (CompactionError, ConfigError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        await engine.close()
    return CommandResult(
        data=done.to_dict(),
        text=(
            f"compacted {record.id}: ~{done.tokens_before} → ~{done.tokens_after} tokens "
            f"sent from now on (messages up to {done.upto_message_id} summarised; all are "
            "kept: `opencode session show --full`)\n\n" + done.summary
        ),
        changed=frozenset({"sessions"}),
    )


async def show_with_compactions(
    ctx: CommandContext, record: Any, messages: list[Any], full: bool
) -> tuple[str, dict[str, Any]]:
    """``session show``'s text and extra data. Without ``full``, messages covered by the newest
    compaction are folded into its summary (as the model sees them); with ``full``, every
    message is shown and each compaction point is marked where it falls."""
    import time

    from opencode.commands.session.cmds import transcript_markdown
    from opencode.sessions.compaction import all_for

    points = await all_for(ctx.store, record.id)
    extra: dict[str, Any] = {"compactions": [p.to_dict() for p in points]}
    if not points:
        return transcript_markdown(record, messages), extra

    def marker(point: Any) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(point.created_at))
        focus = f", focus: {point.focus}" if point.focus else ""
        return (
            f"## Compaction ({point.trigger}, {when}{focus})\n\n"
            f"~{point.tokens_before} → ~{point.tokens_after} tokens. The model sees this "
            f"summary in place of the messages above:\n\n> "
            + str(point.summary).replace("\n", "\n> ")
            + "\n"
        )

    if full:
        # Each marker goes right after the last message it covers.
        chunks = [transcript_markdown(record, []).rstrip() + "\n"]
        for message in messages:
            chunks.append(_message_block(record, message))
            chunks.extend(marker(p) for p in points if p.upto_message_id == message.id)
        return "\n".join(chunks).rstrip() + "\n", extra
    newest = points[-1]
    recent = [m for m in messages if m.id > newest.upto_message_id]
    hidden = len(messages) - len(recent)
    head = transcript_markdown(record, []).rstrip() + "\n"
    folded = (
        f"\n_{hidden} earlier messages are compacted (`session show --full` shows them)._\n\n"
        + marker(newest)
    )
    rest = "\n".join(_message_block(record, m) for m in recent)
    return (head + folded + "\n" + rest).rstrip() + "\n", extra


def _message_block(record: Any, message: Any) -> str:
    """One message as ``transcript_markdown`` renders it (without the session header)."""
    from opencode.commands.session.cmds import transcript_markdown

    full = transcript_markdown(record, [message])
    header = transcript_markdown(record, [])
    return full[len(header.rstrip()) :].lstrip("\n")
