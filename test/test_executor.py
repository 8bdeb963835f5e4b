# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The node's executor: inline callbacks in the spinning thread, named groups on a pool."""

import threading
import time

from liver_landmarks.ros.executor import TransitionThreadsExecutor
import pytest
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node


@pytest.fixture
def node(context):
    """Yield a bare node on ``context``; destroyed afterwards."""
    ros_node = Node('executor_test', context=context)
    yield ros_node
    ros_node.destroy_node()


def _spin_in_thread(executor):
    thread = threading.Thread(target=executor.spin, name='spinner', daemon=True)
    thread.start()
    return thread


def test_a_blocked_threaded_callback_holds_up_no_inline_callback(context, node):
    slow_group = MutuallyExclusiveCallbackGroup()
    started, release = threading.Event(), threading.Event()
    slow_threads, fast_threads = [], []

    def slow():
        # Stands in for a configure that loads a model for seconds.
        slow_threads.append(threading.current_thread().name)
        started.set()
        release.wait(30.0)

    node.create_timer(0.01, slow, callback_group=slow_group)
    node.create_timer(0.01, lambda: fast_threads.append(threading.current_thread().name))
    executor = TransitionThreadsExecutor([slow_group], context=context)
    executor.add_node(node)
    _spin_in_thread(executor)
    try:
        assert started.wait(30.0)
        counted = len(fast_threads)
        deadline = time.monotonic() + 30.0
        while len(fast_threads) < counted + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(fast_threads) >= counted + 5, 'inline callbacks stopped behind the slow one'
        assert not release.is_set()
    finally:
        release.set()
        executor.shutdown(timeout_sec=5.0)
    assert set(fast_threads) == {'spinner'}
    assert slow_threads and all(name.startswith('transition') for name in slow_threads)


@pytest.mark.parametrize('threaded', [False, True], ids=['inline', 'threaded'])
def test_a_callback_exception_reaches_the_spinning_thread(context, node, threaded):
    group = MutuallyExclusiveCallbackGroup()

    def fail():
        raise RuntimeError('callback failed')

    node.create_timer(0.01, fail, callback_group=group)
    executor = TransitionThreadsExecutor([group] if threaded else [], context=context)
    executor.add_node(node)
    try:
        with pytest.raises(RuntimeError, match='callback failed'):
            deadline = time.monotonic() + 30.0
            while time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.05)
    finally:
        executor.shutdown(timeout_sec=5.0)
