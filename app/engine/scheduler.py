"""Who uses the engine's contexts when: fair queues per context, and idle work.

- Each KV slot (chat, completion) serves one request at a time. Requests wait for it
  in arrival order; a waiting request learns how many are ahead of it (the server
  sends that to its client as a "waiting" event), and a request whose client goes
  away leaves the queue at once. Queues are bounded: past `MAX_WAITING` the engine
  answers 503 instead of letting clients pile up.
- Idle work (prefill of the next chat prompt) runs only when no request is admitted or
  waiting, and any request that arrives aborts it at once through its AbortFlag, so it
  never delays a request. Unfinished work is resumed the next time the engine is idle.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from app.engine.abort import AbortFlag
from app.utils.errors import EngineError

log = logging.getLogger(__name__)

MAX_WAITING = 8  # per slot
POLL_S = 0.05  # how often a waiting request checks whether its client left
IDLE_AFTER_S = 0.3  # quiet time after the last request before idle work starts


class EngineBusy(EngineError):
    """Too many requests are already waiting."""


class SlotQueue:
    """A FIFO lock with visible positions and cancellable waiting."""

    def __init__(self, name: str, limit: int = MAX_WAITING) -> None:
        self.name = name
        self.limit = limit
        self._cond = threading.Condition()
        self._waiting: list[object] = []
        self._held = False
        self._reserved = 0  # places taken by requests whose stream has not started waiting yet
        self.served = 0

    def reserve(self) -> Reservation:
        """Take a place in the queue now, or raise EngineBusy (503) when it is full.

        The check and the taking are one step under the queue's lock, so a server can
        answer 503 before it starts a stream: two requests racing for the last place
        can't both pass the check."""
        with self._cond:
            if len(self._waiting) + self._reserved >= self.limit:
                raise EngineBusy(
                    f"The engine is busy: {len(self._waiting) + self._reserved} requests are already waiting "
                    f"for the {self.name} context",
                    "Try again in a moment",
                )
            self._reserved += 1
            return Reservation(self)

    def _unreserve(self) -> None:
        with self._cond:
            self._reserved -= 1
            self._cond.notify_all()

    def acquire(
        self,
        cancel: threading.Event,
        on_wait: Callable[[int], None] | None = None,
        reservation: Reservation | None = None,
    ) -> bool:
        """Wait for the turn (in the place `reservation` holds, else a new one, which
        raises EngineBusy when the queue is full); False when `cancel` was set first."""
        ticket = object()
        with self._cond:
            if reservation is not None and reservation.take():
                self._reserved -= 1
            elif len(self._waiting) + self._reserved >= self.limit:
                raise EngineBusy(
                    f"The engine is busy: {len(self._waiting)} requests are already waiting for the {self.name} context",
                    "Try again in a moment",
                )
            self._waiting.append(ticket)
            shown = -1
            try:
                while True:
                    if cancel.is_set():
                        return False
                    if not self._held and self._waiting[0] is ticket:
                        self._held = True
                        self.served += 1
                        return True
                    ahead = self._waiting.index(ticket) + (1 if self._held else 0)
                    if ahead != shown and on_wait is not None:
                        shown = ahead
                        on_wait(ahead)
                    self._cond.wait(POLL_S)
            finally:
                self._waiting.remove(ticket)
                self._cond.notify_all()

    def try_acquire(self) -> bool:
        with self._cond:
            if self._held or self._waiting:
                return False
            self._held = True
            return True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    @property
    def reserved(self) -> int:
        return self._reserved  # an int read: atomic, and a stale value only delays idle work by a poll

    def status(self) -> dict[str, object]:
        with self._cond:
            return {"busy": self._held, "waiting": len(self._waiting) + self._reserved, "served": self.served}


class Reservation:
    """A place in a SlotQueue taken before the request's stream starts; `release` gives
    it back if the request never gets to wait (it is idempotent)."""

    def __init__(self, queue: SlotQueue) -> None:
        self.queue = queue
        self._open = True
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Mark the place used (by SlotQueue.acquire, under the queue's lock); False if it was already."""
        with self._lock:
            was_open, self._open = self._open, False
            return was_open

    def release(self) -> None:
        if self.take():
            self.queue._unreserve()

    def __del__(self) -> None:
        # A request dropped before its stream ran (the client left first) must not keep the place.
        self.release()


IdleWork = Callable[[AbortFlag], bool]  # returns True when the work is complete


class Scheduler:
    """Admits requests to slot queues and runs idle work in the gaps."""

    def __init__(self, queues: dict[str, SlotQueue]) -> None:
        self.queues = queues
        self._cond = threading.Condition()
        self._active = 0
        self._last_activity = time.monotonic()
        self._work: tuple[str, IdleWork] | None = None
        self._running_flag: AbortFlag | None = None
        self._stopped = False
        self.preemptions = 0
        self.gave_way_ms: float | None = None  # how long the last preempted idle work took to stop
        self._thread = threading.Thread(target=self._idle_loop, name="idle-work", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def admitted(
        self,
        slot: str,
        cancel: threading.Event,
        on_wait: Callable[[int], None] | None = None,
        reservation: Reservation | None = None,
    ) -> Iterator[bool]:
        """Inside: True when the request holds `slot`, False when it was cancelled while waiting."""
        with self._cond:
            self._active += 1
            self._preempt_idle_work()
        queue = self.queues[slot]
        try:
            got = queue.acquire(cancel, on_wait, reservation)
            try:
                yield got
            finally:
                if got:
                    queue.release()
        finally:
            with self._cond:
                self._active -= 1
                self._last_activity = time.monotonic()
                self._cond.notify_all()

    def reserve(self, slot: str) -> Reservation:
        """A place in `slot`'s queue, taken now (EngineBusy when it is full); idle work stops at once."""
        reservation = self.queues[slot].reserve()
        with self._cond:
            self._last_activity = time.monotonic()
            self._preempt_idle_work()
        return reservation

    def _preempt_idle_work(self) -> None:
        """A real request came: stop idle work now (called under `_cond`)."""
        if self._running_flag is not None and not self._running_flag.is_set():
            self._running_flag.set()
            self.preemptions += 1

    def set_idle_work(self, slot: str, work: IdleWork | None) -> None:
        """Replace the pending idle work (None: drop it); a running one is aborted."""
        with self._cond:
            self._work = (slot, work) if work is not None else None
            if self._running_flag is not None:
                self._running_flag.set()
            self._cond.notify_all()

    def idle_work_pending(self) -> bool:
        with self._cond:
            return self._work is not None

    def stop(self, timeout: float) -> bool:
        """Stop idle work and join its thread; False if it is still running after `timeout`."""
        with self._cond:
            self._stopped = True
            if self._running_flag is not None:
                self._running_flag.set()
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _next_work(self) -> tuple[str, IdleWork, AbortFlag] | None:
        with self._cond:
            while not self._stopped:
                quiet = time.monotonic() - self._last_activity
                reserved = any(queue.reserved for queue in self.queues.values())
                if self._work is not None and self._active == 0 and not reserved and quiet >= IDLE_AFTER_S:
                    flag = AbortFlag()
                    self._running_flag = flag
                    slot, work = self._work
                    return slot, work, flag
                self._cond.wait(max(0.01, IDLE_AFTER_S - quiet) if self._work is not None else None)
            return None

    def _idle_loop(self) -> None:
        while (picked := self._next_work()) is not None:
            slot, work, flag = picked
            queue = self.queues[slot]
            done = False
            if queue.try_acquire():
                try:
                    done = work(flag)
                except Exception:  # noqa: BLE001 - idle work must never take the engine down
                    log.exception("idle work failed; dropping it")
                    done = True
                finally:
                    queue.release()
            if flag.set_at is not None:
                self.gave_way_ms = (time.perf_counter() - flag.set_at) * 1000
                log.info("idle work on %s gave way in %.1f ms", slot, self.gave_way_ms)
            with self._cond:
                self._running_flag = None
                if done and self._work is not None and self._work[1] is work:
                    self._work = None
                self._last_activity = time.monotonic()
