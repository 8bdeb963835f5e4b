# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The node's executor: callbacks run in the spinning thread, transitions on threads of their own.

rclpy's ``MultiThreadedExecutor`` hands every callback to a thread pool. For a camera
stream that means each frame wakes a pool thread to take the message and the spinning
thread again to rebuild its wait set, and those Python threads take turns at the GIL
with the frame processor's worker, whose pre- and post-processing then wait for it.
On a small CPU at 1080p30 the node published well under the rate its own pipeline
allows (docs/benchmarks.md has the paired runs). A ``SingleThreadedExecutor`` does not
have that cost, but a ``configure`` that loads a model for seconds would then hold up
every other callback: ``get_state``, parameter services, ``/diagnostics``.

:class:`TransitionThreadsExecutor` is both: callbacks run inline, as in
``SingleThreadedExecutor``, except those of the callback groups it is given (the node's
lifecycle services), which run on a small pool. A transition therefore still blocks
nothing else, and the data path costs what a single-threaded executor costs.
"""

from concurrent.futures import ThreadPoolExecutor

from rclpy.executors import (
    ConditionReachedException, ShutdownException, SingleThreadedExecutor, TimeoutException)

#: Threads for transition callbacks: one transition at a time plus ``get_state`` beside it.
TRANSITION_THREADS = 2


class TransitionThreadsExecutor(SingleThreadedExecutor):
    """Run callbacks inline, except those of ``threaded_groups``, which run on a pool."""

    def __init__(self, threaded_groups=(), *, context=None,
                 max_threads: int = TRANSITION_THREADS):
        """``threaded_groups``: callback groups whose callbacks may take long (transitions)."""
        super().__init__(context=context)
        self._threaded_groups = tuple(threaded_groups)
        self._pool = ThreadPoolExecutor(max_threads, thread_name_prefix='transition')
        # Only the spinning thread touches this list; the pool threads only run the tasks.
        self._threaded_tasks = []

    def _runs_on_pool(self, entity) -> bool:
        group = getattr(entity, 'callback_group', None)
        return any(group is threaded for threaded in self._threaded_groups)

    def _spin_once_impl(self, timeout_sec=None, wait_condition=lambda: False) -> None:
        try:
            handler, entity, _ = self.wait_for_ready_callbacks(timeout_sec, None, wait_condition)
        except (ShutdownException, TimeoutException, ConditionReachedException):
            return
        if self._runs_on_pool(entity):
            self._pool.submit(handler)
            self._threaded_tasks.append(handler)
        else:
            handler()
            handler.result()  # raise the callback's exception here, as rclpy's executors do
        self._raise_finished_task_errors()

    def _raise_finished_task_errors(self) -> None:
        # One done() per task: a task finishing between two looks would be in neither list.
        finished, running = [], []
        for task in self._threaded_tasks:
            (finished if task.done() else running).append(task)
        self._threaded_tasks = running
        for task in finished:
            task.result()

    def shutdown(self, timeout_sec=None) -> bool:
        """Stop executing callbacks, then let the pool's running transitions finish."""
        success = super().shutdown(timeout_sec)
        self._pool.shutdown(wait=True)
        return success
