"""The sync environment and a target's layout: the source project, the settings, the target
registry, and where each component lands in a target folder.

Shared by the engine (which writes there) and the verifier (which checks there); neither
imports the other for these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opencode.commands.registry import CommandContext, CommandError
from opencode.commands.sync import source as src
from opencode.commands.sync.pyenv import check_python
from opencode.commands.sync.settings import SyncSettings, load_settings
from opencode.commands.target.repo import Target, TargetRepo


@dataclass(slots=True)
class SyncEnv:
    ctx: CommandContext
    repo: TargetRepo
    settings: SyncSettings
    source: Path
    head: str
    package: src.SourcePackage

    @property
    def data_dir(self) -> Path:
        return self.ctx.config.data_dir


async def open_env(ctx: CommandContext, need_git: bool = True) -> SyncEnv:
    """The source project and settings. ``need_git=False`` (backup/restore) tolerates a source
    that is not a git checkout: only its package name is needed then."""
    settings = load_settings(ctx.config.section("sync"), ctx.cwd)
    head = ""
    if need_git:
        settings.source = await src.check_source(settings.source)
        head = await src.head(settings.source)
    return SyncEnv(
        ctx=ctx,
        repo=TargetRepo(ctx.store),
        settings=settings,
        source=settings.source,
        head=head,
        package=src.package_info(settings.source)
        if settings.source.is_dir()
        else src.SourcePackage(None, ()),
    )


async def get_target(repo: TargetRepo, name: str) -> Target:
    target = await repo.get(name)
    if target is None:
        known = ", ".join(t.name for t in await repo.all()) or "none yet"
        raise CommandError(
            f"no target named {name!r} (registered: {known}); add it with "
            "`opencode target add NAME --path P --type site-packages|source`"
        )
    return target


# -- layout ----------------------------------------------------------------------------------


def root(target: Target) -> Path:
    return Path(target.path)


def config_path(target: Target) -> Path:
    return root(target) / "opencode.toml"


def doc_dest(env: SyncEnv, target: Target, component: str) -> Path:
    return root(target) / env.settings.dest / env.settings.doc_components[component]


def doc_source(env: SyncEnv, component: str) -> Path:
    return env.source / env.settings.doc_components[component]


def check_target(target: Target) -> None:
    path = root(target)
    if not path.is_dir():
        raise CommandError(
            f"target {target.name}: folder {path} does not exist; fix it, or re-add the target "
            f"with `opencode target remove {target.name}` and `opencode target add`"
        )
    if target.python:
        check_python(target.python)
    elif target.type == "site-packages":
        raise CommandError(
            f"target {target.name} is a site-packages target without a Python; "
            "re-add it with --python PATH"
        )
