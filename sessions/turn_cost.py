"""One turn's cost bookkeeping: what its steps and its subagents spent, and ``--max-cost``.

A ``TurnCost`` lives for one ``Runner.send``. It listens on the bus for the sessions started
under this one (the subagent tree) and adds what their messages cost, since that is part of
what the turn cost. A turn given ``max_cost`` owns a ``CostBudget`` that its subagents' runners
draw from (``Runner.turn_budget``); a subagent's turn (no ``max_cost`` of its own) stops once
its parent turn's budget is spent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencode.sessions.budget import CostBudget
from opencode.sessions.events import MessageFinished, SessionStarted

if TYPE_CHECKING:
    from opencode.sessions.runner import Runner


class TurnCost:
    def __init__(self, runner: Runner, session_id: str, max_cost: float | None) -> None:
        self._runner = runner
        self._session_id = session_id
        self.max_cost = max_cost
        self.cost: float | None = None  # the turn's, over the steps whose cost is known
        # What this turn's subagents spent (their messages' costs, on this bus), not yet
        # counted in ``cost``.
        self._by_children: list[float] = []
        self.owns_budget = max_cost is not None
        self.budget = CostBudget(max_cost) if max_cost is not None else runner.turn_budget
        if self.owns_budget:
            runner.turn_budget = self.budget
        self._tree = {session_id}  # this session and the subagent sessions started under it
        self._unsubscribe = runner.bus.subscribe(self._on_event)
        self._closed = False

    def _on_event(self, event: object) -> None:
        if isinstance(event, SessionStarted) and event.parent_id in self._tree:
            self._tree.add(event.session_id)
        elif (
            isinstance(event, MessageFinished)
            and event.session_id != self._session_id
            and event.session_id in self._tree
            and event.cost is not None
        ):
            self._by_children.append(event.cost)
            if self.owns_budget and self.budget is not None:
                self.budget.spent += event.cost  # at once: a running child checks it per step

    def _take_children(self) -> None:
        if self._by_children:
            self.cost = (self.cost or 0.0) + sum(self._by_children)
            self._by_children.clear()

    def spent(self) -> bool:
        """Before a step: whether no further step may start (this turn's limit, or the
        parent turn's, spent by the whole tree)."""
        self._take_children()
        if self.max_cost is not None and self.cost is not None and self.cost > self.max_cost:
            return True
        return not self.owns_budget and self.budget is not None and self.budget.exhausted

    def add_step(self, cost: float | None) -> None:
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost
            if self.owns_budget and self.budget is not None:
                self.budget.spent += cost

    def close(self) -> None:
        """Stop listening and hand the runner's budget slot back (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        if self.owns_budget:
            self._runner.turn_budget = None

    def final(self) -> float | None:
        """The turn's cost, with what its children spent after its last step."""
        self._take_children()
        return self.cost
