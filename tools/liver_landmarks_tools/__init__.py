# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Benchmarks, the soak test and test support for ``liver_landmarks`` (never imported by it)."""
