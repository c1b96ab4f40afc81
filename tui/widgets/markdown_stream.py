"""Streaming markdown through Textual's Line API: the transcript's hot path.

Text arrives in small deltas (one per provider token). ``StreamingMarkdown`` buffers them and
flushes at frame rate (``FRAME_S``), never once per delta. On a flush the new text is split
into markdown blocks (paragraphs, lists, fenced code...) by ``BlockSplitter``; finished blocks
are rendered with Rich in small groups (one parse per group, ``GROUP_CHARS``), into ``Strip``
lines that are cached and never rendered again, and only the open tail block is re-rendered.
``render_line`` hands the compositor just the lines it asks for, so a long reply costs the new
lines, not the whole message, on every frame (Textual's own ``Markdown`` re-lays out a widget
per block).

Rendering is time-sliced: one flush renders for at most ``SLICE_S`` (it stops before a group
whose estimated cost would overrun it) and leaves the rest to the next slice, so however fast
a server streams, keys and Esc are handled between slices; the screen catches up with the text
when the stream slows or ends. Layout never renders: it reports the height last shown (a
layout runs in the frame a key waits for, and a height that changed under it would ask for
another layout). While a message is behind its text it refreshes the screen every
``CATCH_UP_FRAME_S``, not after every slice (a frame, with its layout, costs more than a slice),
and a growing open block (a long code block) is re-rendered at most ``TAIL_SHARE`` of the time;
an open code block is highlighted whole but drawn line by line (``OpenFence``: unchanged lines
keep their segments).
While a key is on its way to the screen (the app's ``InputGate``, ``tui/pacing.py``) slices
wait for its frame. A message taken off screen drops its rendered lines (``on_unmount``): only
mounted messages hold them.

What the reader sees is rendered first: finished blocks that arrive more than
``RENDER_AHEAD_SCREENS`` screens above the end of the text (a fast stream's backlog) are laid
out with an estimated height (``estimate_height``: wrapped source lines, cheap) and rendered
only when drawn, i.e. scrolled to; the flush then lays out their real height, scrolling the
container by the difference when they are above the reader, so the text read stays put. A
message holds at most ``KEEP_LINES`` rendered lines: the chunks drawn longest ago give theirs
back (their height, exact by then, stays) and render again if scrolled to.

``warm_up`` takes the first render's one-time costs (Rich's markdown and pygments imports,
the lexer table) ahead of the first reply, a step per loop turn, each after any key on its way.
"""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from opencode.tui.pacing import InputGate
from opencode.tui.widgets.markdown_blocks import (
    CODE_THEME,
    BlockSplitter,
    OpenFence,
    estimate_height,
    parse_block,
    render_block,
    render_plain,
    warm_steps,
)

__all__ = [
    "CODE_THEME",
    "BlockSplitter",
    "StreamingMarkdown",
    "estimate_height",
    "parse_block",
    "render_block",
    "render_plain",
    "warm_up",
]

FRAME_S = 1 / 30
SLICE_S = 0.004  # most rendering done in one go before keys get their turn
CATCH_UP_S = 0.002  # pause between slices while rendering is behind the text
CATCH_UP_FRAME_S = 0.25  # how often a message that is behind the text refreshes the screen
GROUP_CHARS = 800  # finished blocks parsed and rendered together (Rich's parser costs per call)
TAIL_SHARE = 0.3  # most of the time spent re-rendering the open block while it grows
COST_PER_CHAR_S = 6e-6  # first guess at rendering cost; each widget learns its own
GROW_STEP = 16  # most lines reserved ahead of a fast stream
STEP_HORIZON_S = 0.15
# Finished blocks arriving more than this many screens above the end of the text are laid
# out with an estimated height and rendered only if scrolled to: a reader following the
# stream sees its end, and a fast stream would otherwise spend most of its time rendering
# text that has scrolled off before it is shown.
RENDER_AHEAD_SCREENS = 2
KEEP_LINES = 2000  # rendered lines one message holds (the rest is re-rendered when scrolled to)
# An open block longer than this is rendered as plain lines until it finishes;
# re-highlighting a huge growing block every frame would cost more than a frame.
TAIL_HIGHLIGHT_LIMIT = 6000


async def warm_up(gate: InputGate | None = None) -> None:
    """Pay the first render's one-time costs now, a step per loop turn (each waiting for any
    key on its way to the screen): otherwise they land in one 40-75 ms callback while the
    first reply streams, and a key typed then waits for all of it."""
    for step in warm_steps():
        await asyncio.sleep(0)
        if gate is not None:
            await gate.wait()
        step()


@dataclass(slots=True)
class _Chunk:
    """Finished blocks laid out together (rendered in one go; ``GROUP_CHARS``).

    ``lines`` is None while the chunk has not been rendered (it was far above what a reader
    sees when it arrived, or its lines were let go): ``height`` is then an estimate, made
    exact when the chunk is rendered (``StreamingMarkdown._reconcile``). A chunk after the
    first starts with the blank line that separates it from the one before.
    """

    start: int  # first block
    end: int  # past the last block
    height: int  # lines laid out
    lines: list[list[Segment]] | None = None


@dataclass(slots=True)
class _Rendered:
    """The lines of one message at one width: finished blocks (in chunks) and the tail.

    Finished lines are kept as bare segment lists, made into a ``Strip`` only when the
    compositor asks for one: a Strip carries seven caches of its own, several times the
    weight of its text, and a long session holds thousands of lines. At most ``KEEP_LINES``
    rendered lines are held; the chunks used longest ago give theirs back (their height
    stays, exact) and render again if they are scrolled to.
    """

    width: int
    style: Style
    chunks: list[_Chunk] = field(default_factory=list)
    tops: list[int] = field(default_factory=list)  # first line of each chunk
    body: int = 0  # lines of the finished blocks laid out
    blocks: int = 0  # how many finished blocks are laid out (rendered or estimated)
    tail: list[Strip] = field(default_factory=list)
    tail_key: tuple[int, int] | None = None
    held: int = 0  # rendered lines held by chunks
    recent: dict[int, None] = field(default_factory=dict)  # rendered chunks, oldest use first
    unsized: set[int] = field(default_factory=set)  # rendered, height still the estimate

    @property
    def height(self) -> int:
        return self.body + len(self.tail)

    def append(self, chunk: _Chunk) -> None:
        self.tops.append(self.body)
        self.chunks.append(chunk)
        self.body += chunk.height
        self.blocks = chunk.end

    def chunk_at(self, y: int) -> int:
        return bisect_right(self.tops, y) - 1


class StreamingMarkdown(Widget):
    """One markdown part of a message, appended to as it streams, frozen when finished."""

    DEFAULT_CSS = """
    StreamingMarkdown {
        height: auto;
        width: 1fr;
    }
    """

    def __init__(
        self,
        text: str = "",
        *,
        finished: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._splitter = BlockSplitter()
        self._fence = OpenFence()  # the open tail's drawn lines, while it is a code block
        self._pending: list[str] = [text] if text else []
        self._blocks: list[str] = []
        self._renders: dict[int, _Rendered] = {}
        self._style: Style | None = None  # rich_style walks every ancestor: look it up rarely
        self._width = 0
        self._height = 0  # laid-out height (see _reserve)
        self._step = 1
        self._growth: deque[tuple[float, int]] = deque()
        self._finished = finished
        self._flush_handle: asyncio.TimerHandle | None = None
        self._cost_per_char = COST_PER_CHAR_S
        self._shown_at = -math.inf  # when a flush last refreshed the screen
        self._dirty: tuple[int, int] | None = None  # lines rendered since, not refreshed yet
        self.shown = 0  # flushes that refreshed the screen (tests count them)
        self._shown_size = (0, 0)  # width and height the screen was last told about
        self._tail_due = 0.0  # when the open block may be re-rendered (see TAIL_SHARE)
        self.tail_renders = 0
        self.block_renders = 0  # finished blocks rendered (tests count them)
        self.deferred = 0  # flushes put off for input (tests count them)
        self.layout_renders = 0  # renders done by layout, not by a flush (tests count them)
        # Called after each flush with the number of characters now on screen (benchmarks).
        self.on_flush: Callable[[int], None] | None = None

    # ---------------------------------------------------------------- feeding

    @property
    def text(self) -> str:
        return self._splitter.text + "".join(self._pending)

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def catching_up(self) -> bool:
        """Text has arrived that is not on screen yet (pending, or blocks not rendered)."""
        if self._pending:
            return True
        rendered = self._renders.get(self._width)
        if rendered is None:
            return bool(self._blocks or self._splitter.tail.strip())
        return rendered.blocks < len(self._blocks) or rendered.tail_key != self._tail_key()

    def append(self, text: str) -> None:
        """Queue a delta; it reaches the screen on the next frame."""
        if not text:
            return
        self._pending.append(text)
        if self.is_mounted:
            self._schedule(FRAME_S)

    def _schedule(self, delay: float) -> None:
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(delay, self.flush)

    def finish(self) -> None:
        """No more text: render the tail as a finished block."""
        self._finished = True
        self.flush()

    def on_mount(self) -> None:
        if self._pending:
            self.call_after_refresh(self.flush)

    def on_unmount(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        # Off screen for good (pruned, or the view cleared): the text is kept, the lines not.
        self._renders.clear()

    def _ingest(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._blocks.extend(self._splitter.feed(text))
        if self._finished and self._splitter.open_start < len(self._splitter.text):
            self._blocks.extend(self._splitter.close())

    def flush(self) -> None:
        """Move pending text into blocks and re-render what changed."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._ingest()
        if not self.is_attached:
            return
        gate = getattr(self.app, "input_gate", None)
        if gate is not None and gate.holding():
            # A key is on its way to the screen: its frame first, this slice after it.
            self.deferred += 1
            self._schedule(CATCH_UP_S)
            return
        width = self.content_region.width or self._width
        if width <= 0:
            return  # not laid out yet; get_content_height renders on first layout
        previous = self._renders.get(width)
        first_changed = previous.body if previous is not None else 0
        old_lines = previous.height if previous is not None else 0
        resized = None
        if previous is not None:
            resized = self._reconcile(previous)
            if resized is not None:
                first_changed = min(first_changed, resized)
                old_lines = max(old_lines, previous.height)
        if self._dirty is not None and previous is not None:
            first_changed = min(first_changed, self._dirty[0])
            old_lines = max(old_lines, self._dirty[1])
        rendered = self._sync(width)
        self._update_step(rendered.height)
        now = time.perf_counter()
        if rendered.blocks < len(self._blocks):
            self._schedule(CATCH_UP_S)  # behind the text: another slice after the keys
            if resized is None and now - self._shown_at < CATCH_UP_FRAME_S:
                # Catching up: shown every CATCH_UP_FRAME_S, not after every slice (a frame,
                # with its layout, costs more than a slice; the screen is behind anyway).
                self._dirty = (first_changed, old_lines)
                return
        elif rendered.tail_key != self._tail_key():
            self._schedule(max(CATCH_UP_S, self._tail_due - now))
        elif self.on_flush is not None:
            self.on_flush(len(self._splitter.text))
        self._dirty, self._shown_at = None, now
        self._shown_size = (width, rendered.height)
        self.shown += 1
        # Only the lines from the old tail down changed: finished lines stay in the styles
        # cache, so a frame re-processes the tail, not the whole visible message.
        bottom = max(old_lines, rendered.height)
        if bottom > first_changed:
            self.refresh(Region(0, first_changed, width, bottom - first_changed))
        if self._reserve(rendered.height) != self._height:
            self.refresh(layout=True, repaint=False)

    def _base_style(self) -> Style:
        if self._style is None:
            self._style = self.rich_style
        return self._style

    def _sync(self, width: int) -> _Rendered:
        """Bring the lines for ``width`` up to date: new finished blocks (for at most
        ``SLICE_S``), then the tail once every finished block is in."""
        style = self._base_style()
        rendered = self._renders.get(width)
        if rendered is None or rendered.style != style:
            rendered = _Rendered(width, style)
            self._renders[width] = rendered
            while len(self._renders) > 2:  # widths come and go with scrollbars; keep two
                del self._renders[next(iter(self._renders))]
        self._lay_out(rendered, time.perf_counter() + SLICE_S)
        self._evict(rendered)
        blocks = self._blocks
        console = self.app.console
        if rendered.blocks < len(blocks):
            if rendered.tail:  # the tail is below blocks not rendered yet: not shown meanwhile
                rendered.tail, rendered.tail_key = [], None
            return rendered
        splitter = self._splitter
        key = self._tail_key()
        if rendered.tail_key != key:
            started = time.perf_counter()
            if rendered.tail and not self._finished and started < self._tail_due:
                return rendered  # re-rendered when due: the flush is rescheduled for then
            rendered.tail_key = key
            tail = splitter.tail
            lines: list[Strip] = []
            if tail.strip():
                if rendered.chunks:
                    lines.append(Strip.blank(width, style))
                fence = None
                if len(tail) > TAIL_HIGHLIGHT_LIMIT:
                    # Re-rendering a huge growing block every frame would cost more than one.
                    lines.extend(render_plain(tail, width, style, wrap=not splitter.in_fence))
                elif splitter.in_fence:  # a growing code block: only its new lines drawn
                    fence = self._fence.render(console, tail, width, style)
                if fence is not None:
                    lines.extend(fence)
                elif len(tail) <= TAIL_HIGHLIGHT_LIMIT:
                    lines.extend(render_block(console, tail, width, style))
            rendered.tail = lines
            self.tail_renders += 1
            # The open block is re-rendered (a code block: highlighted) whole each time: a long
            # one costs milliseconds, so it is re-rendered at most TAIL_SHARE of the time.
            cost = time.perf_counter() - started
            self._tail_due = started + cost / TAIL_SHARE
        return rendered

    def _lay_out(self, rendered: _Rendered, deadline: float) -> None:
        """Lay out the finished blocks that arrived since: those far above the end of the text
        at once, with estimated heights; those a reader following the end would see rendered
        first, in order, until ``deadline`` (the first group always)."""
        blocks = self._blocks
        if rendered.blocks >= len(blocks):
            return
        width = rendered.width
        groups: list[tuple[int, int]] = []
        start = rendered.blocks
        while start < len(blocks):
            end, size = start + 1, len(blocks[start])
            while end < len(blocks) and size + len(blocks[end]) <= GROUP_CHARS:
                size += len(blocks[end])
                end += 1
            groups.append((start, end))
            start = end
        # From the end backwards: the groups within RENDER_AHEAD_SCREENS of the end of the
        # text are rendered before they are shown; the ones above them are only measured.
        ahead = RENDER_AHEAD_SCREENS * max(1, self.app.size.height)
        below = estimate_height([self._splitter.tail], width) if self._splitter.tail else 0
        heights = [
            estimate_height(blocks[start:end], width) + (1 if index or rendered.chunks else 0)
            for index, (start, end) in enumerate(groups)
        ]
        near = len(groups)
        while near and below < ahead:
            near -= 1
            below += heights[near]
        for index in range(near):
            rendered.append(_Chunk(*groups[index], heights[index]))
        now = time.perf_counter()
        for index in range(near, len(groups)):
            start, end = groups[index]
            size = sum(len(block) for block in blocks[start:end])
            # Stop before a group that would overrun the slice (its cost estimated from the
            # groups before it), not after: a slice is what a key may wait behind.
            if index > near and now + size * self._cost_per_char > deadline:
                break
            chunk = _Chunk(start, end, 0)
            self._render_chunk(rendered, chunk, len(rendered.chunks))
            chunk.height = len(chunk.lines or ())
            rendered.append(chunk)
            now = time.perf_counter()
            if now > deadline:
                break

    def _render_chunk(self, rendered: _Rendered, chunk: _Chunk, index: int) -> None:
        """Render ``chunk`` (the ``index``-th) into its lines."""
        started = time.perf_counter()
        width, style, blocks = rendered.width, rendered.style, self._blocks
        start, end = chunk.start, chunk.end
        group = blocks[start] if end == start + 1 else "\n\n".join(blocks[start:end])
        strips = render_block(self.app.console, group, width, style, last=blocks[end - 1])
        lines = [[Segment(" " * width, style)]] if index else []
        lines.extend(list(strip) for strip in strips)
        chunk.lines = lines
        rendered.held += len(lines)
        rendered.recent[index] = None
        self.block_renders += end - start
        spent = time.perf_counter() - started
        size = max(1, len(group))
        self._cost_per_char = 0.7 * self._cost_per_char + 0.3 * spent / size

    def _reconcile(self, rendered: _Rendered) -> int | None:
        """Give chunks rendered since they were laid out their real height; return the first
        line that moved (None if none did). Lines above what the reader sees are kept in
        place by scrolling the container by as much as they grew or shrank."""
        if not rendered.unsized:
            return None
        changed = sorted(rendered.unsized)
        rendered.unsized.clear()
        top = self._visible_top()
        shift = 0
        first: int | None = None
        for index in changed:
            chunk = rendered.chunks[index]
            if chunk.lines is None or len(chunk.lines) == chunk.height:
                continue
            delta = len(chunk.lines) - chunk.height
            if first is None:
                first = rendered.tops[index]
            if top is not None and rendered.tops[index] < top:
                shift += delta
            chunk.height += delta
            rendered.body += delta
        if first is None:
            return None
        line = rendered.tops[changed[0]]
        for index in range(changed[0], len(rendered.chunks)):
            rendered.tops[index] = line
            line += rendered.chunks[index].height
        if shift:
            container = self._scroller()
            # A container following its end (anchored, at the bottom) keeps following by
            # itself; scrolling it here would release its anchor (scroll_to(immediate=True)
            # releases it whatever release_anchor says, Textual 8.2).
            following = container is not None and (
                container.is_anchored and container.scroll_y >= container.max_scroll_y
            )
            if container is not None and not following:
                container.scroll_to(y=container.scroll_y + shift, animate=False, immediate=True)
        return first

    def _scroller(self) -> Widget | None:
        for node in self.ancestors:
            if isinstance(node, Widget) and node.styles.overflow_y in ("auto", "scroll"):
                return node
        return None

    def _visible_top(self) -> int | None:
        """The first of this widget's lines the reader can see (0 if its top is in view)."""
        container = self._scroller()
        if container is None or not self.is_mounted:
            return None
        return max(0, container.content_region.y - self.content_region.y)

    def _evict(self, rendered: _Rendered) -> None:
        """Over ``KEEP_LINES``, let the rendered chunks used longest ago go (not the last)."""
        last = len(rendered.chunks) - 1
        for index in list(rendered.recent):
            if rendered.held <= KEEP_LINES:
                break
            if index >= last - 1 or index in rendered.unsized:
                continue
            chunk = rendered.chunks[index]
            del rendered.recent[index]
            if chunk.lines is not None:
                rendered.held -= len(chunk.lines)
                chunk.lines = None

    def _chunk_line(self, rendered: _Rendered, y: int) -> list[Segment] | None:
        """Line ``y`` of the finished blocks, rendering its chunk if it was only measured
        (it is being drawn, so it is in view)."""
        index = rendered.chunk_at(y)
        chunk = rendered.chunks[index]
        if chunk.lines is None:
            self._render_chunk(rendered, chunk, index)
            if chunk.lines is not None and len(chunk.lines) != chunk.height:
                rendered.unsized.add(index)
            if self.is_mounted:
                # The flush lays out its real height and keeps held lines within KEEP_LINES.
                self._schedule(CATCH_UP_S)
        elif index in rendered.recent:
            rendered.recent[index] = rendered.recent.pop(index)  # used now: kept longest
        lines = chunk.lines or ()
        offset = y - rendered.tops[index]
        return lines[offset] if offset < len(lines) else None

    def _tail_key(self) -> tuple[int, int]:
        return (self._splitter.open_start, len(self._splitter.text))

    def _reserve(self, height: int) -> int:
        """The height to lay out: while streaming fast, rounded up to the growth step.

        A widget whose size changes is repainted whole, and so are its parents; growing in
        steps makes most frames repaint only the changed tail lines, with no layout at all.
        The step is what the text grows in ``STEP_HORIZON_S`` (at most ``GROW_STEP``), so a
        slow stream lays out exactly and a fast one leaves only a briefly blank margin.
        """
        if self._finished or height == 0 or self._step <= 1:
            return height
        return -(-height // self._step) * self._step

    def _update_step(self, height: int) -> None:
        if self._finished:
            self._step = 1
            return
        now = time.perf_counter()
        growth = self._growth
        growth.append((now, height))
        while len(growth) > 2 and now - growth[0][0] > 0.5:
            growth.popleft()
        span = now - growth[0][0]
        rate = (height - growth[0][1]) / span if span > 0.05 else 0.0
        self._step = max(1, min(GROW_STEP, math.ceil(rate * STEP_HORIZON_S)))

    # ---------------------------------------------------------------- Line API

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width <= 0:
            return 0
        self._ingest()
        self._width = width
        # Layout reports what was last shown; rendering more is the flush's job, in slices.
        # (Catching up here too would add a slice to every layout, and a layout runs in the
        # same loop turn as the frame a key waits for.) A new width renders its first slice.
        # Not the lines rendered since: each layout would see a new height, and a new size
        # asks for another layout, frame after frame while a message catches up.
        rendered = self._renders.get(width)
        if rendered is None or rendered.style != self._base_style():
            rendered = self._sync(width)
            self.layout_renders += 1
            self._shown_size = (width, rendered.height)
        elif self._shown_size[0] != width:
            self._shown_size = (width, rendered.height)
        behind = rendered.blocks < len(self._blocks) or rendered.tail_key != self._tail_key()
        if behind and self.is_mounted:
            self._schedule(CATCH_UP_S)
        self._height = self._reserve(self._shown_size[1])
        return self._height

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width or self._width
        # The lines flushed so far: rendering more is the flush's job, in slices.
        rendered = self._renders.get(width) or (self._sync(width) if width > 0 else None)
        if rendered is None:
            return Strip.blank(0)
        if y < rendered.body:
            line = self._chunk_line(rendered, y)
            if line is None:  # below a chunk's real end until its height is laid out
                return Strip.blank(width, rendered.style)
            return Strip(line, width)
        y -= rendered.body
        if y < len(rendered.tail):
            return rendered.tail[y]
        return Strip.blank(width, rendered.style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style = None
        # Colours changed (theme switch): _sync sees the new style and re-renders.
        if self._renders:
            self.refresh()
