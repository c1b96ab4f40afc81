"""The key bar at the bottom of the chat screen, rebuilt only when the keys it shows change.

Textual's ``Footer`` recomposes (a new widget per key, styled and laid out) whenever the
screen's bindings may have changed: each focus change, each screen pushed, app focus. At
start-up that is several times in the first frames, and later on every Tab or modal. The
keys shown rarely differ, so ``KeysFooter`` compares what it would show (key, label, enabled,
tooltip of each shown binding) with what it shows and skips a recompose that would change
nothing.
"""

from __future__ import annotations

from textual.widgets import Footer

Shown = tuple[tuple[str, str, str, bool, str], ...]


class KeysFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._shown: Shown | None = None
        self.recomposes = 0  # recomposes done (tests)

    def shown_keys(self) -> Shown:
        """What the bar shows for the screen's bindings now."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (key, binding.description, binding.action, enabled, tooltip)
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette
        )

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        shown = self.shown_keys()
        if shown == self._shown:
            return
        self._shown = shown
        self.recomposes += 1
        await super().recompose()
