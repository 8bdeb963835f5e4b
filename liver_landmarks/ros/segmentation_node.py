# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``segmentation_node``: the managed ROS 2 node that segments liver landmarks in a video.

Lifecycle: configure loads, verifies and warms up the model and creates the
publishers; activate subscribes to ``image`` and starts the worker thread; deactivate
stops both; cleanup frees the model; shutdown is clean from any state. With
``autostart`` (default) :func:`main` walks the node to active by itself.

The subscription callback only decodes (a zero-copy view) and checks a frame, then
puts it in a one-slot buffer; a worker thread runs the model on the newest frame, so
the executor never waits for inference and a slow model drops frames instead of
falling behind. Bad input, stale frames, replaced frames and processing faults are
counted on ``/diagnostics`` and logged (throttled), and the node keeps running.

Run: ``ros2 run liver_landmarks segmentation_node --ros-args --params-file
config/segment.yaml -r image:=/camera/image`` or ``python -m
liver_landmarks.ros.segmentation_node ...`` with the same arguments.
"""

from dataclasses import dataclass, replace
import sys
import time
import traceback

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from liver_landmarks.landmarks import INPUT_HEIGHT, INPUT_WIDTH
from liver_landmarks.ros.diagnostics import build_array, build_status, health_values, NodeHealth
from liver_landmarks.ros.frame_queue import FrameWorker, NewestFrameSlot
from liver_landmarks.ros.image_conversion import decode_colour_frame, ImageFormatError
from liver_landmarks.ros.messages import build_output_messages, OUTPUT_MSGTYPES
from liver_landmarks.ros.node_parameters import (
    ALL_PARAMETERS, check_override_types, ConfigurationError, MODEL_PARAMETERS,
    postprocess_config, read_settings, SPECS)
import numpy as np
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, PointCloud2
from visualization_msgs.msg import MarkerArray

NODE_NAME = 'segmentation_node'
#: Outputs built for every processed frame; the others only while someone subscribes.
ALWAYS_BUILT = ('labels', 'polylines')
_MESSAGE_CLASSES = {'sensor_msgs/msg/Image': Image, 'sensor_msgs/msg/PointCloud2': PointCloud2,
                    'visualization_msgs/msg/MarkerArray': MarkerArray}
#: Output queue depths. Images are large and only the newest matters, so 2 rides out one
#: slow write by a subscriber without holding many megabytes; polylines and markers are
#: small, and a registration node that falls briefly behind still gets each of them.
_IMAGE_DEPTH = 2
_SMALL_DEPTH = 10
#: Seconds between two log lines about the same kind of bad input.
BAD_INPUT_LOG_PERIOD_S = 5.0
DIAGNOSTICS_PERIOD_S = 1.0


@dataclass
class PendingFrame:
    """A decoded frame waiting for the worker; ``frame`` is a view over ``msg.data``."""

    msg: Image
    frame: np.ndarray
    channel_order: str
    decode_ms: float


def _output_qos(key: str) -> QoSProfile:
    depth = _SMALL_DEPTH if key in ('polylines', 'markers') else _IMAGE_DEPTH
    return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE)


def input_qos(reliability: str) -> QoSProfile:
    """Depth 1: only the newest frame matters and the slot behind it holds one more."""
    policy = (ReliabilityPolicy.RELIABLE if reliability == 'reliable'
              else ReliabilityPolicy.BEST_EFFORT)
    return QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=policy)


class SegmentationNode(LifecycleNode):
    """The managed node: parameters, lifecycle, subscription, worker and diagnostics."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        for spec in ALL_PARAMETERS:
            self.declare_parameter(spec.name, spec.default, spec.descriptor())
        # Registered after declaring: start-up values are validated at configure, where a
        # refusal can say how to fix config/segment.yaml instead of killing the process.
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.health = NodeHealth()
        self.pipeline = None
        self.settings = None
        self._identity = {}
        self.lifecycle_state = 'unconfigured'
        self.configure_error = ''
        self._identity = {}
        self._publishers_by_key = {}
        self._subscription = None
        self._slot = NewestFrameSlot()
        self._worker = None
        self._bad_input_logged_at = {}
        self._diagnostics_publisher = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        # Steady clock: diagnostics keep coming (and warn) while a replayed bag is paused.
        self._diagnostics_timer = self.create_timer(
            DIAGNOSTICS_PERIOD_S, self.publish_diagnostics,
            clock=Clock(clock_type=ClockType.STEADY_TIME))

    # Parameters ------------------------------------------------------------------------

    def parameter_values(self) -> dict:
        """Return the current value of every declared node parameter by name."""
        return {spec.name: self.get_parameter(spec.name).value for spec in ALL_PARAMETERS}

    def _on_set_parameters(self, parameters) -> SetParametersResult:
        changes = {parameter.name: parameter.value for parameter in parameters}
        try:
            self._apply_parameter_changes(changes)
        except ConfigurationError as error:
            self.get_logger().warning(f'parameter change refused: {error}')
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _apply_parameter_changes(self, changes: dict):
        for name, value in changes.items():
            if name in SPECS:
                SPECS[name].check(value)
        model_changes = sorted(set(changes) & set(MODEL_PARAMETERS))
        if model_changes and self.pipeline is not None:
            raise ConfigurationError(
                f'{", ".join(model_changes)} is read when the model loads: deactivate and clean '
                'up the node, set it, then configure again')
        values = {**self.parameter_values(), **changes}
        config = postprocess_config(values)
        if self.pipeline is not None and config != self.settings.postprocess:
            self.pipeline.update_config(config)
            self.get_logger().info(f'post-processing updated: {config}')
        if self.settings is not None:
            self.settings = replace(self.settings, postprocess=config,
                                    max_frame_age_s=float(values['max_frame_age_s']),
                                    input_timeout_s=float(values['input_timeout_s']))

    # Lifecycle -------------------------------------------------------------------------

    def on_configure(self, state) -> TransitionCallbackReturn:
        """Validate the parameters, load and verify the model, warm it up, make publishers."""
        try:
            settings = read_settings(self.parameter_values())
            pipeline = self._load_pipeline(settings)
        except ConfigurationError as error:
            return self._configure_failed(str(error))
        except Exception as error:  # noqa: BLE001 - any load failure is reported, not raised
            return self._configure_failed(
                f'cannot load the model: {type(error).__name__}: {error}')
        self.settings, self.pipeline, self.configure_error = settings, pipeline, ''
        for key, msgtype in OUTPUT_MSGTYPES.items():
            self._publishers_by_key[key] = self.create_lifecycle_publisher(
                _MESSAGE_CLASSES[msgtype], f'~/{key}', _output_qos(key))
        self.lifecycle_state = 'inactive'
        self.get_logger().info(
            f'configured: model {settings.model_card} on {self._identity["backend"]}/'
            f'{self._identity["device"]}')
        return super().on_configure(state)

    def _configure_failed(self, message: str) -> TransitionCallbackReturn:
        self.configure_error = message
        self.get_logger().error(f'configure failed: {message}')
        return TransitionCallbackReturn.FAILURE

    def _load_pipeline(self, settings):
        from liver_landmarks.pipeline import Pipeline

        pipeline = Pipeline.from_model_card(settings.model_card, backend=settings.backend,
                                            device=settings.device, config=settings.postprocess)
        try:
            # The first runs allocate buffers and compile kernels: pay for them now, not on
            # the first frame of the operation.
            pipeline.backend.warmup()
            pipeline(np.full((INPUT_HEIGHT, INPUT_WIDTH, 3), 96, dtype=np.uint8))
        except BaseException:
            pipeline.close()
            raise
        described = pipeline.backend.describe()
        card = pipeline.backend.model_card
        self._identity = {
            'backend': described['backend'],
            'device': described['device'],
            'precision': described.get('precision', ''),
            'model': card.name or settings.model_card.stem,
            'model_sha256': card.weights_sha256,
            'model_card': str(settings.model_card),
        }
        return pipeline

    def on_activate(self, state) -> TransitionCallbackReturn:
        """Subscribe to ``image`` and start the worker thread."""
        self._slot.clear()
        self._worker = FrameWorker(self._slot, self.process_frame, self._processing_failed)
        self._worker.start()
        self._subscription = self.create_subscription(
            Image, 'image', self.on_image, input_qos(self.settings.input_reliability))
        self.health.watch_input()
        self.lifecycle_state = 'active'
        self.get_logger().info(
            f'active: segmenting {self._subscription.topic_name}')
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        """Stop taking frames: unsubscribe, then let the worker finish its frame and stop."""
        self._stop_processing()
        self.lifecycle_state = 'inactive'
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        """Free the model and the publishers."""
        self._release()
        self.lifecycle_state = 'unconfigured'
        return super().on_cleanup(state)

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        """Stop and free everything, from whichever state the node is in."""
        self._stop_processing()
        self._release()
        self.lifecycle_state = 'finalized'
        return super().on_shutdown(state)

    def on_error(self, state) -> TransitionCallbackReturn:
        """Recover to unconfigured: stop and free everything."""
        self.get_logger().error(f'error while {state.label}; cleaning up to unconfigured')
        self._stop_processing()
        self._release()
        self.lifecycle_state = 'unconfigured'
        return TransitionCallbackReturn.SUCCESS

    def _stop_processing(self):
        if self._subscription is not None:
            self.destroy_subscription(self._subscription)
            self._subscription = None
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self._slot.clear()

    def _release(self):
        for publisher in self._publishers_by_key.values():
            self.destroy_lifecycle_publisher(publisher)
        self._publishers_by_key = {}
        if self.pipeline is not None:
            self.pipeline.close()
        self.pipeline = None
        self.settings = None
        self._identity = {}

    def finish(self):
        """Leave cleanly at exit: the shutdown transition if ROS still runs, else just stop."""
        if self.lifecycle_state == 'finalized':
            return
        if self.context.ok():
            try:
                self.trigger_shutdown()
                return
            except Exception as error:  # noqa: BLE001 - exiting anyway; stop by hand below
                print(f'{self.get_name()}: shutdown transition failed: {error}', file=sys.stderr)
        self._stop_processing()
        self._release()
        self.lifecycle_state = 'finalized'

    def autostart(self) -> bool:
        """Configure and activate if the ``autostart`` parameter asks to; True when active."""
        if not self.get_parameter('autostart').value:
            self.get_logger().info('autostart is false: waiting for lifecycle transitions')
            return False
        if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            return False
        return self.trigger_activate() == TransitionCallbackReturn.SUCCESS

    # Frames ----------------------------------------------------------------------------

    def on_image(self, msg: Image):
        """Check and decode a frame, then leave it for the worker (executor thread)."""
        self.health.frame_received()
        started = time.perf_counter()
        try:
            frame, channel_order = decode_colour_frame(
                msg.width, msg.height, msg.encoding, msg.step, msg.is_bigendian, msg.data)
        except ImageFormatError as error:
            self._reject(error.reason, str(error))
            return
        decode_ms = (time.perf_counter() - started) * 1000.0
        if self._is_stale(msg):
            return
        if self._slot.put(PendingFrame(msg, frame, channel_order, decode_ms)):
            self.health.frame_dropped('replaced')

    def _is_stale(self, msg: Image) -> bool:
        max_age = self.settings.max_frame_age_s if self.settings else 0.0
        if max_age <= 0.0:
            return False
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        age_s = (self.get_clock().now().nanoseconds - stamp_ns) / 1e9
        if age_s <= max_age:
            return False
        self.health.frame_dropped('stale')
        self._log_throttled('stale', f'dropping frames older than max_frame_age_s={max_age} s '
                            f'(this one is {age_s:.3f} s old): the camera clock and this '
                            'node clock disagree, or use_sim_time is off during replay')
        return True

    def _reject(self, reason: str, message: str):
        count = self.health.frame_rejected(reason)
        self._log_throttled(reason, f'rejected frame ({reason}, {count} so far): {message}')

    def _log_throttled(self, kind: str, message: str):
        now = time.monotonic()
        if now - self._bad_input_logged_at.get(kind, -BAD_INPUT_LOG_PERIOD_S) \
                >= BAD_INPUT_LOG_PERIOD_S:
            self._bad_input_logged_at[kind] = now
            self.get_logger().warning(message)

    def wanted_outputs(self) -> set:
        """Output keys to build now: labels and polylines always, others when subscribed."""
        return {key for key, publisher in self._publishers_by_key.items()
                if key in ALWAYS_BUILT or publisher.get_subscription_count() > 0}

    def process_frame(self, pending: PendingFrame):
        """Run the model on one frame and publish its outputs (worker thread)."""
        pipeline = self.pipeline
        if pipeline is None or self._is_stale(pending.msg):
            return
        try:
            output = pipeline(pending.frame, channel_order=pending.channel_order)
        except Exception as error:  # noqa: BLE001 - one bad frame must not stop the node
            self._processing_failed(error)
            return
        started = time.perf_counter()
        header = pending.msg.header
        wanted = self.wanted_outputs()
        frame_rgb = pending.frame if pending.channel_order == 'rgb' else pending.frame[..., ::-1]
        messages = build_output_messages(header, frame_rgb, output.result, wanted)
        for key, message in messages.items():
            self._publishers_by_key[key].publish(message)
        publish_ms = (time.perf_counter() - started) * 1000.0
        self.health.frame_processed(
            {'decode': pending.decode_ms, **output.timings_ms, 'publish': publish_ms})

    def _processing_failed(self, error: BaseException):
        stage, kind = failed_stage(error), type(error).__name__
        if self.health.processing_failed(stage, kind) == 1:
            self.get_logger().error(
                f'{stage} of a frame raised {kind}: {error}; the frame is skipped and later '
                f'{kind} errors in {stage} are only counted on /diagnostics')

    # Diagnostics -----------------------------------------------------------------------

    def publish_diagnostics(self):
        """Publish one ``DiagnosticArray`` about the node (steady 1 Hz timer)."""
        self._diagnostics_publisher.publish(
            build_array(self.get_clock().now().to_msg(), [self.diagnostic_status()]))

    def diagnostic_status(self) -> DiagnosticStatus:
        """Return the node's status now: level, message, identity, rates, latency, counts."""
        level, message = DiagnosticStatus.OK, self.lifecycle_state
        if self.lifecycle_state == 'unconfigured' and self.configure_error:
            level, message = DiagnosticStatus.ERROR, f'configure failed: {self.configure_error}'
        elif self.lifecycle_state == 'active':
            silent_s = self.health.seconds_without_input()
            if silent_s > self.settings.input_timeout_s:
                level = DiagnosticStatus.WARN
                message = (f'no input on {self._subscription.topic_name} for {silent_s:.1f} s '
                           f'(input_timeout_s={self.settings.input_timeout_s})')
            else:
                message = 'active: processing'
        identity = {'state': self.lifecycle_state, **self._identity}
        if self._subscription is not None:
            identity['input_topic'] = self._subscription.topic_name
        return build_status(f'{self.get_name()}: segmentation', level, message,
                            health_values(self.health, identity),
                            hardware_id=self._identity.get('device', ''))


#: Source of the innermost package frame of a traceback -> the stage it is counted under.
_STAGE_OF_SOURCE = (('/postprocess/', 'postprocess'), ('/backends/', 'inference'),
                    ('/model/', 'inference'), ('/preprocess.py', 'preprocess'),
                    ('/ros/messages.py', 'publish'), ('/ros/image_conversion.py', 'publish'),
                    ('/overlay.py', 'publish'))
#: Calls in pipeline.py -> the stage they run, for faults raised by code outside the package.
_STAGE_OF_PIPELINE_CALL = (('self.preprocessor', 'preprocess'), ('self.backend', 'inference'),
                           ('self.postprocessor', 'postprocess'))


def failed_stage(error: BaseException) -> str:
    """Name the pipeline stage an exception came from; ``'processing'`` when unclear."""
    stage = 'processing'
    for frame in traceback.extract_tb(error.__traceback__):
        path = frame.filename.replace('\\', '/')
        if '/liver_landmarks/' not in path:
            continue
        if path.endswith('/liver_landmarks/pipeline.py'):
            rules, text = _STAGE_OF_PIPELINE_CALL, frame.line or ''
        else:
            rules, text = _STAGE_OF_SOURCE, path
        stage = next((name for part, name in rules if part in text), stage)
    return stage


def main(args=None) -> int:
    """Run the node until Ctrl-C or shutdown; autostart walks it to active."""
    rclpy.init(args=args)
    node = None
    try:
        check_override_types(sys.argv if args is None else args)
        node = SegmentationNode()
        node.autostart()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (InvalidParameterValueException, InvalidParameterTypeException) as error:
        print(f'{NODE_NAME}: {error}: fix the value in config/segment.yaml or the -p '
              'override', file=sys.stderr)
        return 2
    except ConfigurationError as error:
        print(f'{NODE_NAME}: {error}', file=sys.stderr)
        return 2
    finally:
        if node is not None:
            node.finish()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
