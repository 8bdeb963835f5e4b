# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Evaluation reports: P2ILF metrics tables, qualitative figure, training curves."""

import csv
from pathlib import Path


def read_metrics_csv(path) -> list[dict]:
    """Read Lightning's CSV log; empty cells are left out, numbers become floats."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    with open(path, newline='', encoding='utf-8') as stream:
        for row in csv.DictReader(stream):
            rows.append({key: float(value) for key, value in row.items()
                         if value not in ('', None)})
    return rows
