# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
