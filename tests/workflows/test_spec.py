"""Workflow files are validated before anything runs: every refusal names what and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.sessions.workflows.spec import (
    WorkflowError,
    find_cycle,
    load_workflow,
    parse_workflow,
    topological_order,
)

SRC = Path("flow.toml")


def test_a_cycle_is_named_in_order() -> None:
    text = (
        '[steps.a]\nshell = "true"\nneeds = ["c"]\n'
        '[steps.b]\nshell = "true"\nneeds = ["a"]\n'
        '[steps.c]\nshell = "true"\nneeds = ["b"]\n'
    )
    with pytest.raises(WorkflowError, match=r"dependency cycle: a -> c -> b -> a; nothing"):
        parse_workflow(text, SRC)


def test_find_cycle_handles_deep_chains_without_recursion() -> None:
    chain = {f"s{i}": (f"s{i + 1}",) for i in range(5000)}
    chain["s5000"] = ()
    assert find_cycle(chain) is None
    chain["s5000"] = ("s0",)
    cycle = find_cycle(chain)
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) == 5002


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[steps.a]\nshell = "x"\nneeds = ["nope"]\n', "needs names unknown step 'nope'"),
        ('[steps.a]\nshell = "x"\nprompt = "y"\n', "exactly one of prompt"),
        ("[steps.a]\n", "exactly one of prompt"),
        ('[steps.a]\nshell = "x"\nneeds = ["a"]\n', "names itself"),
        ('[steps.a]\nshell = "x"\nwhen = 1\n', "unknown key(s) when"),
        ('[steps.a]\nshell = "x"\non_failure = "panic"\n', "on_failure must be one of"),
        ('[steps.a]\nshell = "x"\nretries = 99\n', "retries must be an integer from 0 to 10"),
        ('[steps.a]\nshell = "x"\nagent = "review"\n', "agent applies to agent steps"),
        ("name = 'x'\n", "no steps"),
        ('[steps.a]\nshell = "x"\ntimeout = 601\n', "timeout must be from 1 to 600"),
        ('max_parallel = 0\n[steps.a]\nshell = "x"\n', "max_parallel must be"),
        (
            '[steps.a]\nshell = "x"\non_failure_step = "h"\n[steps.h]\nshell = "y"\n'
            '[steps.b]\nshell = "z"\nneeds = ["h"]\n',
            "only runs as an on_failure_step handler",
        ),
        (
            '[steps.a]\nshell = "x"\non_failure_step = "h"\n'
            '[steps.h]\nshell = "y"\non_failure_step = "a"\n',
            "cannot have handlers of its own",
        ),
        ("[steps.a\n", "invalid TOML"),
    ],
)
def test_invalid_files_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(WorkflowError) as info:
        parse_workflow(text, SRC)
    assert message in str(info.value)
    assert str(SRC) in str(info.value)


def test_handlers_leave_the_flow_and_imply_a_retry() -> None:
    spec = parse_workflow(
        '[steps.test]\nshell = "pytest"\non_failure_step = ["debug", "code"]\n'
        '[steps.debug]\nprompt = "find it"\nagent = "debug"\n'
        '[steps.code]\nprompt = "fix it"\n'
        '[steps.docs]\nprompt = "document"\nneeds = ["test"]\n',
        SRC,
    )
    assert spec.flow == ["test", "docs"]
    assert spec.handlers == {"debug", "code"}
    assert (spec.steps["test"].on_failure, spec.steps["test"].retries) == ("retry", 1)
    assert topological_order(spec) == ["test", "docs"]


def test_markdown_front_blocks_toml_and_yaml(tmp_path: Path) -> None:
    toml_md = tmp_path / "flow.md"
    toml_md.write_text(
        '+++\nname = "md"\n[steps.a]\nshell = "true"\n+++\n\nRuns **a**.\n', encoding="utf-8"
    )
    spec = load_workflow(toml_md)
    assert (spec.name, spec.description, list(spec.steps)) == ("md", "Runs **a**.", ["a"])
    yaml_md = tmp_path / "y.md"
    yaml_md.write_text(
        "---\nname: y\nsteps:\n  a: {shell: 'true'}\n  b: {shell: 'true', needs: [a]}\n---\n",
        encoding="utf-8",
    )
    assert topological_order(load_workflow(yaml_md)) == ["a", "b"]
    bare = tmp_path / "bare.md"
    bare.write_text("# no front block\n", encoding="utf-8")
    with pytest.raises(WorkflowError, match="starts with a front block"):
        load_workflow(bare)
    with pytest.raises(WorkflowError, match="does not exist"):
        load_workflow(tmp_path / "missing.toml")


def test_the_shipped_examples_are_valid() -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "workflows"
    files = sorted(folder.glob("*.toml")) + sorted(folder.glob("*.md"))
    assert len(files) >= 2
    for path in files:
        spec = load_workflow(path)
        assert spec.flow, path
