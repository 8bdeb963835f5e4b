# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The newest-frame slot and the worker thread that keep the node from falling behind.

The subscription callback only puts frames into a one-slot buffer; a worker thread
takes the newest and runs the model. A frame that is replaced before the worker gets
to it is dropped (and counted by the caller), so however fast frames arrive at most
one waits and memory stays flat.
"""

import threading


class NewestFrameSlot:
    """A thread-safe buffer of one item where a new item replaces the waiting one."""

    def __init__(self):
        self._condition = threading.Condition()
        self._item = None
        self._closed = False

    def put(self, item) -> bool:
        """Store ``item``; return True when it replaced one that was never taken."""
        with self._condition:
            replaced = self._item is not None
            self._item = item
            self._condition.notify()
            return replaced

    def take(self, timeout: float | None = None):
        """Return the waiting item, waiting up to ``timeout`` s; None on timeout or close."""
        with self._condition:
            self._condition.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            return item

    def clear(self) -> bool:
        """Drop the waiting item, if any; return True when there was one."""
        with self._condition:
            dropped = self._item is not None
            self._item = None
            return dropped

    def close(self):
        """Wake every waiting :meth:`take`; later takes return at once."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def reopen(self):
        """Make :meth:`take` block again after :meth:`close`."""
        with self._condition:
            self._closed = False


class FrameWorker:
    """A daemon thread that hands each item taken from a :class:`NewestFrameSlot` to ``handle``.

    ``handle`` must not raise; if it does, ``on_error(error)`` is called and the
    thread goes on with the next item, because one bad frame must not stop the node.

    With ``finish``, an item is handled in two halves that overlap the next item:
    ``handle(item)`` starts it and returns a token (None: nothing to finish),
    ``ready(token)`` (optional) waits until the started half is done, and
    ``finish(token)`` completes it. The next item is taken from the slot only once the
    last one is ready, so it is the newest there is, and it is started before the last
    one is finished: with a backend that infers asynchronously the next frame infers
    while this one is post-processed and published, and neither waits behind the
    other's inference. At most two items are in hand; the slot keeps only the newest.
    """

    def __init__(self, slot: NewestFrameSlot, handle, on_error, name='segmentation-worker',
                 finish=None, ready=None):
        self._slot = slot
        self._handle = handle
        self._finish = finish
        self._ready = ready
        self._on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        """Start taking frames."""
        self._slot.reopen()
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop after the frame in hand, if any; return True when the thread has ended."""
        self._stop.set()
        self._slot.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self):
        if self._finish is not None:
            self._run_overlapped()
            return
        while not self._stop.is_set():
            item = self._slot.take(timeout=0.5)
            if item is None or self._stop.is_set():
                continue
            self._call(self._handle, item)

    def _run_overlapped(self):
        started = None
        while not self._stop.is_set():
            if started is not None and self._ready is not None:
                self._call(self._ready, started)
            # With an item in hand, only a frame already waiting is started before it is
            # finished: its outputs are never held back waiting for the camera.
            item = self._slot.take(timeout=0.0 if started is not None else 0.5)
            following = None
            if item is not None and not self._stop.is_set():
                following = self._call(self._handle, item)
            if started is not None:
                self._call(self._finish, started)
            started = following
        if started is not None:
            self._call(self._finish, started)

    def _call(self, function, argument):
        try:
            return function(argument)
        except Exception as error:  # noqa: BLE001 - reported; the next frame must still run
            self._on_error(error)
            return None
