# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Command line of the tools: ``python -m liver_landmarks_tools COMMAND ...``.

Benchmarks and the soak test, run through the runtime's command-line dispatcher
(:func:`liver_landmarks.cli.main`): the same parsing, ``error: ...`` lines and exit
statuses. Each command's module is imported only when it is named.
"""

import sys

from liver_landmarks import cli

#: sub-command name -> (module, one-line help)
COMMANDS = {
    'bench': ('liver_landmarks_tools.bench_command',
              'measure per-stage latency and end-to-end rate'),
    'postprocess-bench': ('liver_landmarks_tools.postprocess_bench',
                          'time the post-processing on realistic masks'),
    'soak': ('liver_landmarks_tools.soak',
             'run the node for minutes under camera load; report its memory and latency'),
    'gpu-bench': ('liver_landmarks_tools.gpu_bench',
                  'GPU figures on a CUDA machine, within a time budget'),
}

PROG = 'python -m liver_landmarks_tools'
DESCRIPTION = 'Benchmarks and the soak test of liver_landmarks.'


def main(argv=None) -> int:
    """Run one tools sub-command; return its exit status."""
    return cli.main(argv, commands=COMMANDS, prog=PROG, description=DESCRIPTION)


if __name__ == '__main__':
    sys.exit(main())
