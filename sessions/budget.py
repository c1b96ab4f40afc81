"""A turn's cost limit (``opencode run --max-cost``), shared with the subagents it starts.

The top turn owns the ``CostBudget`` and keeps ``spent`` at the whole tree's known cost: its
own steps and every message its subagents (and theirs) finish. A subagent's runner holds the
same object and starts no further step once it is spent, so the children draw from what the
parent turn has left instead of each running to its own end.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class CostBudget:
    limit: float
    spent: float = 0.0

    @property
    def exhausted(self) -> bool:
        """Over the limit: no further step may start (the step that crossed it is kept)."""
        return self.spent > self.limit
