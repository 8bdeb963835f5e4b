# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Test support: random models, a client that drives a running node, the shared data paths.

Used by the tests, the benchmarks and the demo script; the runtime package
``liver_landmarks`` never imports it.
"""
