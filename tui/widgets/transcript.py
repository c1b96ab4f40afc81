"""The conversation: a scrolling column of messages, fed by session events.

``Transcript.handle_event`` is subscribed to the engine's bus (after the store writer) and runs
synchronously on the app's loop; it hands each event to its ``TranscriptBuilder`` (deltas go
straight into the open ``StreamingMarkdown`` buffer, no Textual message per token) and mounts
the widgets the builder returns. Stored history goes through the same builder, as replayed
events (``opencode.tui.replay``). The transcript owns scrolling: it stays anchored to the
bottom while streaming until the user scrolls up, and mounts only the most recent messages of
a long session, loading earlier ones when the user scrolls to the top.

Messages it takes out (pruned, or the view cleared) must not outlive their removal: it drops
the references Textual keeps to their rendered lines and posts ``Transcript.Released``, on
which the app collects their reference cycles (see ``release_render_caches``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from textual._styles_cache import StylesCache
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from opencode.sessions.events import SessionEvent
from opencode.tui.replay import Children, replay
from opencode.tui.widgets.markdown_stream import StreamingMarkdown
from opencode.tui.widgets.message_views import AssistantMessage, UserMessage
from opencode.tui.widgets.subagent import SubagentRouter
from opencode.tui.widgets.transcript_builder import TranscriptBuilder

if TYPE_CHECKING:
    from textual.await_remove import AwaitRemove

    from opencode.sessions.store.sessions import MessageRecord

PAGE = 24  # messages mounted per page of history (a few screens full)
FIRST_PAINT = 6  # of which mounted before the first frame
MAX_MOUNTED = 3 * PAGE  # messages kept mounted in a live session before the oldest are dropped
LINE_BUDGET = 3000  # lines kept mounted in a live session (long replies count for their size)
MIN_MOUNTED = 6  # messages always kept, however long


def release_render_caches() -> None:
    """Let go of the rendered lines of widgets that are no longer mounted.

    Textual's ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a method (textual#6665):
    its keys hold the ``StylesCache`` of the last 1,024 widgets drawn, each with every line it
    rendered, long after the widget is gone: about 0.6 MB per 20 KB reply. Emptying that cache
    frees them; it refills with the widgets on screen at the next frame (two ``Style`` objects
    each). Done where widgets are removed in bulk, so memory follows what is mounted.
    """
    cache_clear = getattr(StylesCache.get_inner_outer, "cache_clear", None)
    if cache_clear is not None:  # a Textual without the lru_cache has nothing to clear
        cache_clear()


def history_widgets(
    messages: Sequence[MessageRecord],
    children: Children | None = None,
    router: SubagentRouter | None = None,
) -> list[Widget]:
    """Widgets for stored messages: replayed as events through a builder of their own; the
    subagents' views (``children``) wait in ``router.pending`` until their hosts are mounted."""
    root = messages[0].session_id if messages else None
    return TranscriptBuilder().build(replay(messages, children), router, root)


class Transcript(VerticalScroll):
    """All messages of the current session; handles events for the current session only."""

    DEFAULT_CSS = """
    Transcript {
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
        /* A width that does not change when the scrollbar appears: no second render. */
        scrollbar-gutter: stable;
    }
    Transcript > .load-more { color: $text-muted; height: 1; text-align: center; }
    """

    class Released(Message):
        """Widgets removed from the transcript are gone: their reference cycles are garbage
        now, at a quiet moment (a turn starting, a session opening) to collect them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session_id: str | None = None
        self._builder = TranscriptBuilder()
        self._subagents = SubagentRouter()
        self._oldest_id: str | None = None
        self._has_more = False
        self._loading = False
        self.load_earlier: Callable[[str, str], Awaitable[list[MessageRecord]]] | None = None
        # The stored subagents of a page of history (``opencode.tui.replay.child_events``).
        self.load_children: Callable[[Sequence[MessageRecord]], Awaitable[Children]] | None = None

    def on_mount(self) -> None:
        self.anchor()

    # ---------------------------------------------------------------- live events

    def handle_event(self, event: SessionEvent) -> None:
        # A subagent's events go to its nested block inside the parent's task call.
        if self._subagents.route(event, self.session_id, self._builder.tools):
            return
        if getattr(event, "session_id", None) != self.session_id:
            return
        widget = self._builder.apply(event)
        if widget is not None:
            self.mount(widget)
            if isinstance(widget, UserMessage):
                self.check_prune()

    def check_prune(self) -> None:
        """Keep a long live session light: past ``MAX_MOUNTED`` messages or ``LINE_BUDGET``
        lines, unmount the oldest messages down to half of either (they are in the store, and
        scrolling to the top loads them back). Memory then follows what is mounted, not the
        length of the session."""
        messages = [w for w in self.children if isinstance(w, UserMessage | AssistantMessage)]
        if len(messages) <= MIN_MOUNTED or (self.is_anchored and self._anchor_released):
            return
        heights = {child: child.outer_size.height for child in self.children}
        total = sum(heights.values())
        if len(messages) <= MAX_MOUNTED and total <= LINE_BUDGET:
            return
        # Past the count, a page goes (a page is what scrolling up loads back); past the
        # lines, as many as bring them down to half the budget.
        drop = PAGE if len(messages) > MAX_MOUNTED else 0
        keep_count = len(messages)
        for message in messages:
            if keep_count <= MIN_MOUNTED or (
                len(messages) - keep_count >= drop and total <= LINE_BUDGET // 2
            ):
                break
            keep_count -= 1
            total -= heights[message]
        keep = messages[len(messages) - keep_count]
        old: list[Widget] = []
        for child in self.children:
            if child is keep:
                break
            if not child.has_class("load-more"):
                old.append(child)
        if not old:
            return
        self._oldest_id = keep.message_id
        self._has_more = True
        self._forget_offscreen_lines()  # those going too: less for the collection to traverse
        self._release(self.remove_children(old))
        if not self.query(".load-more"):
            self.mount(Static("↑ scroll up for earlier messages", classes="load-more"), before=0)

    def _release(self, removal: AwaitRemove) -> None:
        """Once ``removal`` is done, release what Textual still holds of the removed widgets
        and tell the app (``Released``); the message handler goes on meanwhile."""

        async def released() -> None:
            await removal
            release_render_caches()
            self.post_message(self.Released())

        self.call_later(released)

    def _forget_offscreen_lines(self) -> None:
        """Drop the drawn lines of messages scrolled out of view.

        Textual caches every line a mounted widget has drawn, and each cached line carries
        a dozen derived strips of its own: for messages nobody sees, that is most of what a
        full collection traverses (and of the memory mounted messages take). A full refresh
        drops them; a message scrolled back into view draws them again, cheaply, from its
        own rendered segments.
        """
        top = self.scroll_offset.y
        bottom = top + self.scrollable_content_region.height
        for child in self.children:
            region = child.virtual_region_with_margin
            if region.bottom <= top or region.y >= bottom:
                for widget in child.walk_children(with_self=True):
                    widget.refresh()

    def open_stream(self, part_id: str) -> StreamingMarkdown | None:
        return self._builder.open_stream(part_id)

    # ---------------------------------------------------------------- history

    async def show_history(
        self, session_id: str, messages: Sequence[MessageRecord], has_more: bool
    ) -> None:
        """Replace the transcript with ``messages`` (the latest page of a session).

        The last few messages are mounted first so the screen paints quickly; the rest of the
        page is mounted above them right after the first frame.
        """
        await self.clear()
        self.session_id = session_id
        self._oldest_id = messages[0].id if messages else None
        self._has_more = has_more
        head, tail = messages[:-FIRST_PAINT], messages[-FIRST_PAINT:]
        children = await self._children(messages)
        router = SubagentRouter()
        widgets: list[Widget] = []
        if has_more:
            widgets.append(Static("↑ scroll up for earlier messages", classes="load-more"))
        if not head:
            widgets.extend(history_widgets(tail, children, router))
            if widgets:
                await self.mount_all(widgets)
                await router.mount_pending()
            self.anchor()
            return
        latest = history_widgets(tail, children, router)
        await self.mount_all([*widgets, *latest])
        await router.mount_pending()
        self.anchor()

        async def mount_head() -> None:
            if self.session_id != session_id or not latest[0].is_attached:
                return
            await self.mount_all(history_widgets(head, children, router), before=latest[0])
            await router.mount_pending()

        self.call_after_refresh(
            lambda: self.run_worker(mount_head(), group="history", exclusive=True)
        )

    async def _children(self, messages: Sequence[MessageRecord]) -> Children:
        from opencode.sessions.store.db import StoreError

        if self.load_children is None or not messages:
            return {}
        try:
            return await self.load_children(messages)
        except StoreError as exc:  # the session's own history still shows, without them
            self.notify(f"subagents not shown: {exc}", severity="warning", markup=False)
            return {}

    async def clear(self) -> None:
        self._builder = TranscriptBuilder()
        self._subagents = SubagentRouter()
        if self.children:
            await self.remove_children()
            # The child list caches its displayed children until the next layout that has
            # children to arrange: read it now, or it holds the removed page until then.
            _ = self.displayed_children
            release_render_caches()
            self.post_message(self.Released())

    def add_output(self, widget: Widget) -> None:
        self.mount(widget)
        self.anchor()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 and old_value > 0 and self._has_more and not self._loading:
            self.run_worker(self._load_earlier(), group="history", exclusive=True)

    async def _load_earlier(self) -> None:
        if self.load_earlier is None or self.session_id is None or self._oldest_id is None:
            return
        self._loading = True
        try:
            older = await self.load_earlier(self.session_id, self._oldest_id)
            self._has_more = len(older) >= PAGE
            if not older:
                return
            self._oldest_id = older[0].id
            marker = self.query(".load-more")
            router = SubagentRouter()
            widgets = history_widgets(older, await self._children(older), router)
            first = self.children[1] if marker and len(self.children) > 1 else None
            before_height = self.virtual_size.height
            if first is not None:
                await self.mount_all(widgets, before=first)
            else:
                await self.mount_all(widgets, before=0)
            await router.mount_pending()
            if not self._has_more:
                await marker.remove()

            def keep_position() -> None:
                self.scroll_to(y=self.virtual_size.height - before_height, animate=False)

            self.call_after_refresh(keep_position)
        finally:
            self._loading = False
