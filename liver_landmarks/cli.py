# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Command line entry point: ``python -m liver_landmarks COMMAND ...``.

Each sub-command lives in its own module under :mod:`liver_landmarks.commands` and
exposes ``add_parser(subparsers)`` (which sets ``func`` on its parser) and is
imported only when named, so ``evaluate`` never pays for torch or rclpy. The tools
distribution (``python -m liver_landmarks_tools``) runs its commands through the same
:func:`main`, so both command lines parse, report errors and exit alike.
"""

import argparse
import importlib
import sys

#: sub-command name -> (module, one-line help)
COMMANDS = {
    'postprocess': ('liver_landmarks.commands.postprocess',
                    'post-process label images into polylines, P2ILF JSON and overlays'),
    'segment': ('liver_landmarks.commands.segment',
                'segment frames with a model and post-process the result'),
    'evaluate': ('liver_landmarks.commands.evaluate',
                 'score a prediction against ground truth with the P2ILF metrics'),
    'bag': ('liver_landmarks.bag.cli', 'replay or process rosbag2 recordings'),
}

#: Commands that live in another distribution: name -> the command line that runs them.
MOVED = {
    'bench': 'python -m liver_landmarks_tools bench',
}


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


def build_parser(argv=None, commands=None, prog: str = 'python -m liver_landmarks',
                 description: str = '') -> argparse.ArgumentParser:
    """Build the top-level parser, importing only the sub-command that is named."""
    commands = COMMANDS if commands is None else commands
    parser = argparse.ArgumentParser(prog=prog,
                                     description=description or __doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    argv = sys.argv[1:] if argv is None else argv
    wanted = next((arg for arg in argv if not arg.startswith('-')), None)
    for name, (module_name, help_text) in commands.items():
        if name == wanted:
            importlib.import_module(module_name).add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv=None, commands=None, prog: str = 'python -m liver_landmarks',
         description: str = '') -> int:
    """Run one sub-command of ``commands`` (default: the runtime's); return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if commands is None and argv and argv[0] in MOVED:
        print(f'error: {argv[0]!r} is not part of the runtime package; run: '
              f'{MOVED[argv[0]]} {" ".join(argv[1:])}'.rstrip(), file=sys.stderr)
        return 2
    parser = build_parser(argv, commands, prog, description)
    args = parser.parse_args(argv)
    #: The sub-command's own arguments, for commands that start themselves again.
    args.command_argv = argv[1:]
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
