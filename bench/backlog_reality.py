"""Plan-versus-reality sync on real project history (prints figures; never pass/fail).

For each fixture in ``tests/fixtures/repos/*.expected.json`` it clones the git bundle into a
temporary folder, parses the backlog planned at a release tag, runs the sync with
``--since TAG`` and prints the wall time, one line per item (expected, got, confidence, score)
and the confusion table (rows: expected class, columns: what the sync said).

Run from the repository root: `python bench/backlog_reality.py [NAME ...] [--verbose]`;
`--synthetic 20000 200` times the classification alone on a generated history of that size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencode.commands.backlog.classify import CLASSES, SyncState  # noqa: E402
from opencode.commands.backlog.parser import parse_backlog  # noqa: E402
from opencode.commands.backlog.reality import check_reality  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "repos"
SHORT = {
    "completed_but_undocumented": "done",
    "partially_completed": "partial",
    "divergent": "divergent",
    "not_started": "not",
}


def clone(bundle: Path, into: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(bundle), str(into)], check=True, capture_output=True)
    return into


async def sync_fixture(spec_path: Path, work: Path) -> tuple[SyncState, dict[str, str], float]:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    repo = clone(FIXTURES / spec["bundle"], work / spec_path.stem)
    parsed = parse_backlog((FIXTURES / spec["backlog"]).read_text(encoding="utf-8"))
    for item in parsed.items:
        item.planned_at = parsed.planned_at or 0.0
    started = time.perf_counter()
    state = await check_reality(parsed.items, repo, spec["since"])
    return state, spec["expected"], time.perf_counter() - started


def confusion(pairs: list[tuple[str, str]]) -> list[str]:
    lines = ["expected \\ got".ljust(16) + "".join(SHORT[c].rjust(10) for c in CLASSES)]
    for row in CLASSES:
        counts = [sum(1 for e, g in pairs if e == row and g == col) for col in CLASSES]
        if any(counts):
            lines.append(SHORT[row].ljust(16) + "".join(str(n).rjust(10) for n in counts))
    return lines


def synthetic(commits: int, items: int) -> None:
    """Classification cost alone (no git) on a generated history: ``commits`` commits of 3
    files each over 400 paths and a 3,000-word vocabulary, ``items`` items with 4-word titles,
    4 planned files (1 new) and an issue reference each; a tenth of the commits reference an
    item."""
    import random

    from opencode.commands.backlog.classify import classify
    from opencode.commands.backlog.evidence import Commit, RepoEvidence
    from opencode.commands.backlog.model import BacklogItem

    rng = random.Random(7)
    words = [f"w{n}" for n in range(3000)]
    paths = [f"src/m{n // 20}/f{n}.py" for n in range(400)]
    history = [
        Commit(
            f"{n:040x}",
            1_700_000_000 + n,
            " ".join(rng.choices(words, k=7))
            + (f" (#{rng.randrange(items)})" if n % 10 == 0 else ""),
            " ".join(rng.choices(words, k=20)),
            tuple(rng.sample(paths, 3)),
            (),
        )
        for n in range(commits, 0, -1)
    ]
    backlog = [
        BacklogItem(
            title=" ".join(rng.choices(words, k=4)),
            key=f"Task-{n}",
            source=f"issue #{n}",
            files=[f"`{p}`" for p in rng.sample(paths, 3)] + [f"`src/new/x{n}.py` (new)"],
            planned_at=0.0,
        )
        for n in range(items)
    ]
    evidence = RepoEvidence(Path("/nonexistent"), "0" * 40, history, [])
    started = time.perf_counter()
    state = classify(backlog, evidence, since="base")
    took = time.perf_counter() - started
    print(f"synthetic: {commits} commits x {items} items classified in {took:.2f} s")
    print(f"   {state.counts()}; unattributed {len(state.unattributed)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="fixture names (default: all)")
    parser.add_argument("--verbose", action="store_true", help="print each item's reasons")
    parser.add_argument(
        "--synthetic",
        nargs=2,
        type=int,
        metavar=("COMMITS", "ITEMS"),
        help="also time classification alone on a generated history of this size",
    )
    args = parser.parse_args()
    if args.synthetic:
        synthetic(*args.synthetic)
        return
    specs = sorted(FIXTURES.glob("*.expected.json"))
    if args.names:
        specs = [s for s in specs if s.name.split(".")[0] in args.names]
    everything: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            state, expected, took = await sync_fixture(spec, Path(tmp))
            pairs = []
            print(f"== {spec.name.split('.')[0]}: {state.window} commits, {took:.2f} s")
            for finding in state.findings:
                want = expected.get(finding.item.ref, "?")
                got = finding.classification
                pairs.append((want, got))
                mark = " " if want == got else "X"
                print(
                    f"{mark} {finding.item.ref:9} {SHORT.get(want, want):8} -> {SHORT[got]:8}"
                    f" {finding.confidence:6} {finding.score:6.1f}  {finding.item.title[:50]}"
                )
                if args.verbose or want != got:
                    for m in finding.matches[:6]:
                        print(f"      {m.commit.short} {m.score:5.1f} {m.commit.subject[:60]}")
                        print(f"            {'; '.join(m.why)[:150]}")
                    for reason in finding.reasons:
                        print(f"      - {reason[:160]}")
            right = sum(1 for e, g in pairs if e == g)
            print(f"   {right}/{len(pairs)} right")
            print("\n".join("   " + line for line in confusion(pairs)))
            everything += pairs
    right = sum(1 for e, g in everything if e == g)
    print(f"== all: {right}/{len(everything)} right ({right / max(len(everything), 1):.0%})")
    print("\n".join(confusion(everything)))


if __name__ == "__main__":
    asyncio.run(main())
