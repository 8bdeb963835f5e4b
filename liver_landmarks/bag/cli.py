# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m liver_landmarks bag {replay,process,info,report}``: work with rosbag2 recordings.

``replay`` publishes a bag through rclpy at its recorded timing with ``/clock``;
``process`` runs the pipeline offline over a bag's images into a new bag; ``info``
lists a bag's topics; ``report`` turns a recording of the node's inputs and outputs
into an overlay strip and a latency summary. Ctrl-C stops ``replay`` and ``process``
after the current message, with any output bag closed and readable; a second Ctrl-C
stops at once.
"""

import argparse
from contextlib import contextmanager
from pathlib import Path
import signal
import sys
import threading

from liver_landmarks.cli import UserError


def add_parser(subparsers):
    """Add ``bag`` and its actions to the top-level parser."""
    parser = subparsers.add_parser('bag', help='replay or process rosbag2 recordings',
                                   description=__doc__.splitlines()[0])
    actions = parser.add_subparsers(dest='bag_action', metavar='ACTION')
    actions.required = True
    _add_replay(actions)
    _add_process(actions)
    _add_info(actions)
    _add_report(actions)


def _add_replay(actions):
    replay = actions.add_parser(
        'replay', help='publish a bag over DDS at its recorded timing, with /clock',
        description='Publish the recorded topics as raw serialized bytes at the recorded '
                    'timing with their recorded QoS, and /clock with the bag time for nodes '
                    'run with use_sim_time. DDS settings come from the environment, as for '
                    'any ROS 2 process (e.g. ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST).')
    replay.add_argument('bag', type=Path, help='rosbag2 directory or .mcap/.db3 file')
    replay.add_argument('--rate', type=float, default=1.0, help='playback speed (default 1.0)')
    replay.add_argument('--loop', action='store_true', help='start again at the end')
    replay.add_argument('--topics', nargs='+', default=None, help='replay only these topics')
    replay.add_argument('--start-offset', type=float, default=0.0, metavar='S',
                        help='skip the first S seconds of the bag')
    replay.add_argument('--no-clock', action='store_true', help='do not publish /clock')
    replay.add_argument('--clock-hz', type=float, default=40.0,
                        help='/clock rate between messages (default 40)')
    replay.add_argument('--reliability', choices=('reliable', 'best_effort'), default=None,
                        help='override the QoS reliability of every replayed topic (default: '
                             "each topic's recorded QoS, as ros2 bag play)")
    replay.add_argument('--wait-for-subscribers', type=float, default=0.0, metavar='S',
                        help='wait up to S seconds until every replayed topic has a subscriber')
    replay.add_argument('--min-subscribers', type=int, default=1, metavar='N',
                        help='with --wait-for-subscribers: wait for N subscribers per topic')
    replay.add_argument('--delay', type=float, default=0.0, metavar='S',
                        help='pause S seconds before the first message')
    replay.add_argument('--no-progress', action='store_true', help='no progress bar')
    replay.set_defaults(func=run_replay)


def _add_process(actions):
    from liver_landmarks.ros.messages import OUTPUT_KEYS

    process = actions.add_parser(
        'process', help="run the pipeline offline over a bag's images into a new bag",
        description='Run the segmentation pipeline on every image of a topic as fast as the '
                    "machine allows (no DDS) and write the images plus the node's output "
                    'topics, with the original headers and log times, into a new bag.')
    process.add_argument('bag', type=Path, help='rosbag2 directory or .mcap/.db3 file')
    process.add_argument('--out', type=Path, required=True, help='output bag (must not exist)')
    process.add_argument('--image-topic', default=None,
                         help="sensor_msgs/Image or CompressedImage topic (default: the bag's "
                              'only one)')
    process.add_argument('--model', default='',
                         help='model card JSON (default: the shipped model)')
    process.add_argument('--backend', default='auto', help='inference backend (default auto)')
    process.add_argument('--device', default='auto', help='device (default auto)')
    process.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap',
                         help='output storage (default mcap)')
    process.add_argument('--compress', action='store_true', help='zstd-compress the output')
    process.add_argument('--outputs', nargs='+', choices=OUTPUT_KEYS, default=list(OUTPUT_KEYS),
                         metavar='KEY', help=f'outputs to write (default all: '
                                             f'{" ".join(OUTPUT_KEYS)})')
    process.add_argument('--node-name', default='/segmentation_node',
                         help='namespace of the output topics (default /segmentation_node)')
    process.add_argument('--p2ilf-json', type=Path, default=None, metavar='DIR',
                         help='also write one P2ILF 2D-contour JSON per frame into DIR')
    process.add_argument('--no-progress', action='store_true', help='no progress bar')
    process.set_defaults(func=run_process)


def _add_info(actions):
    info = actions.add_parser('info', help="list a bag's topics, types, counts and span")
    info.add_argument('bag', type=Path, help='rosbag2 directory or .mcap/.db3 file')
    info.add_argument('--check', action='store_true',
                      help='read every message and deserialize each one of an installed type '
                           '(and decode each compressed frame), so that damage anywhere is '
                           'found (exit status 3: some do not deserialize or decode)')
    info.set_defaults(func=run_info)


def _add_report(actions):
    report = actions.add_parser(
        'report', help='overlay strip and latency summary from a recording of the node',
        description='From a bag recorded with liver_landmarks.bag.recorder (inputs and '
                    'outputs with receive times), write overlay_strip.png, latency_summary.json '
                    'and latency_summary.txt.')
    report.add_argument('bag', type=Path, help='recorded bag')
    report.add_argument('--out', type=Path, required=True, help='folder for the report files')
    report.add_argument('--image-topic', default='/camera/image')
    report.add_argument('--node-name', default='/segmentation_node')
    report.add_argument('--tiles', type=_positive_int, default=8,
                        help='overlays in the strip (default 8)')
    report.set_defaults(func=run_report)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be 1 or more, not {value}')
    return value


@contextmanager
def stop_on_signals():
    """Yield an event set by the first SIGINT/SIGTERM; a second SIGINT interrupts at once."""
    stop = threading.Event()

    def handle(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        print(f'\n{signal.Signals(signum).name}: stopping after the current message '
              '(Ctrl-C again to stop now)', file=sys.stderr, flush=True)
        stop.set()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT,
                                                                     signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _progress(total, unit, disabled):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=sys.stderr, disable=disabled, dynamic_ncols=True)


def _open(path):
    from liver_landmarks.bag.storage import BagReadError, open_bag

    try:
        return open_bag(path)
    except BagReadError as error:
        raise UserError(str(error)) from error


@contextmanager
def _bag_errors_as_user_errors():
    from liver_landmarks.bag.storage import BagReadError

    try:
        yield
    except BagReadError as error:
        raise UserError(str(error)) from error


def run_replay(args) -> int:
    """Replay a bag until its end (or forever with --loop) or Ctrl-C."""
    from liver_landmarks.bag.process import EXIT_SKIPPED_MESSAGES
    from liver_landmarks.bag.replay import BagReplayer, ReplayOptions

    try:
        options = ReplayOptions(
            rate=args.rate, loop=args.loop, topics=tuple(args.topics) if args.topics else None,
            start_offset_s=args.start_offset, publish_clock=not args.no_clock,
            clock_hz=args.clock_hz, reliability=args.reliability,
            wait_for_subscribers_s=args.wait_for_subscribers,
            min_subscribers=args.min_subscribers, delay_s=args.delay)
    except ValueError as error:
        raise UserError(str(error)) from error
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    reader = _open(args.bag)
    with stop_on_signals() as stop, _bag_errors_as_user_errors():
        rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
        node = rclpy.create_node('bag_replay')
        replayer = BagReplayer(node, reader, options, stop_event=stop)
        for topic, reason in replayer.stats.skipped_topics.items():
            print(f'skipping {topic}: {reason}', file=sys.stderr)
        for topic, qos in replayer.stats.qos.items():
            print(f'replaying {topic}: {qos}', file=sys.stderr)
        progress = None
        try:
            replayer.prepare()
            progress = _progress(replayer.message_total() or None, 'msg', args.no_progress)
            replayer.progress = progress
            stats = replayer.play()
        finally:
            if progress is not None:
                progress.close()
            replayer.destroy()
            node.destroy_node()
            rclpy.try_shutdown()
            reader.close()
    print(f'published {stats.total} messages on {len(stats.published)} topics '
          f'({stats.clock_messages} /clock) spanning {stats.bag_s:.2f} s of bag time in '
          f'{stats.wall_s:.2f} s' + (' (interrupted)' if stats.interrupted else ''))
    if stats.undecodable:
        print(f'not published: {stats.undecodable} messages that do not deserialize: '
              + '; '.join(stats.first_undecodable)
              + ('; ...' if stats.undecodable > len(stats.first_undecodable) else ''))
    if stats.interrupted:
        return 130
    return EXIT_SKIPPED_MESSAGES if stats.undecodable else 0


def run_process(args) -> int:
    """Process a bag's images offline into a new bag and print the summary."""
    from liver_landmarks.bag.process import (BagProcessor, EXIT_SKIPPED_MESSAGES, image_count,
                                             ProcessError, ProcessOptions)
    from liver_landmarks.bag.storage import BagReadError, BagWriteError

    reader = _open(args.bag)
    try:
        options = ProcessOptions(image_topic=args.image_topic, storage=args.storage,
                                 compress=args.compress, outputs=tuple(args.outputs),
                                 node_name=args.node_name, p2ilf_json_dir=args.p2ilf_json)
        try:
            processor = BagProcessor(reader, args.out, None, options)
        except ProcessError as error:
            raise UserError(str(error)) from error
        processor.pipeline = _load_pipeline(args)
        with stop_on_signals() as stop:
            processor.stop_event = stop
            progress = _progress(image_count(reader, processor.image_topic), 'frame',
                                 args.no_progress)
            processor.progress = progress
            try:
                summary = processor.run()
            except (BagReadError, BagWriteError) as error:
                # The output bag is closed and holds every frame finished before the stop.
                progress.close()
                print(processor.summary.describe(), file=sys.stderr)
                raise UserError(str(error)) from None
            finally:
                progress.close()
    finally:
        reader.close()
    print(summary.describe())
    if summary.interrupted:
        return 130
    if summary.failed:
        return 1
    return EXIT_SKIPPED_MESSAGES if summary.skipped else 0


def _load_pipeline(args):
    from liver_landmarks.pipeline import Pipeline
    from liver_landmarks.ros.node_parameters import ConfigurationError, resolve_model_card

    try:
        card = resolve_model_card(args.model)
    except ConfigurationError as error:
        raise UserError(f'{error} (pass --model CARD.json)') from error
    try:
        return Pipeline.from_model_card(card, backend=args.backend, device=args.device)
    except (OSError, ValueError, RuntimeError) as error:
        raise UserError(f'cannot load the model {card}: {error}') from error


def run_info(args) -> int:
    """Print a bag's storage, span and topics; with --check read every message."""
    from liver_landmarks.bag.process import EXIT_SKIPPED_MESSAGES, frame_content_problem
    from liver_landmarks.bag.storage import check_messages, storage_files, topic_counts

    reader = _open(args.bag)
    try:
        print(f'bag:         {args.bag}')
        files = storage_files(reader)
        print(f'storage:     {", ".join(sorted({_storage_of(p) for p in files}))}'
              f'{_compression(reader)}: {", ".join(p.name for p in files)}')
        print(f'messages:    {reader.message_count}')
        if reader.message_count:
            print(f'span:        {reader.duration / 1e9:.3f} s from log time '
                  f'{reader.start_time / 1e9:.3f}')
        for topic, (type_name, count) in sorted(topic_counts(reader).items()):
            print(f'  {count:8d}  {topic}  [{type_name}]')
        if args.check:
            with _bag_errors_as_user_errors():
                report = check_messages(reader, check_content=frame_content_problem)
            print(f'check:       {report.describe()}')
            if report.undecodable:
                return EXIT_SKIPPED_MESSAGES
    finally:
        reader.close()
    return 0


def _storage_of(path) -> str:
    suffixes = Path(path).suffixes
    return 'mcap' if '.mcap' in suffixes else 'sqlite3' if '.db3' in suffixes else str(path)


def _compression(reader) -> str:
    if not reader.compression_mode:
        return ''
    return f' ({reader.compression_format} {reader.compression_mode} compression)'


def run_report(args) -> int:
    """Write the overlay strip and latency summary of a recording."""
    from liver_landmarks.bag.report import write_report

    with _bag_errors_as_user_errors():
        summary_text = write_report(args.bag, args.out, image_topic=args.image_topic,
                                    node_name=args.node_name, tiles=args.tiles)
    print(summary_text)
    return 0
