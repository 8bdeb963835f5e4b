# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``segmentation_node``: the managed ROS 2 node that segments liver landmarks in a video.

A thin shell over :class:`~liver_landmarks.ros.frame_processor.FrameProcessor`, which
owns the frames. Lifecycle: configure validates the parameters, loads, verifies and warms
up the model and creates the publishers; activate subscribes to ``image`` and starts the
processor's worker; deactivate stops both; cleanup frees the model; shutdown is clean
from any state. With ``autostart`` (default) :func:`main` walks the node to active.

A frame's route: ``image`` subscription -> ``FrameProcessor.submit`` -> worker ->
``Pipeline`` -> :meth:`SegmentationNode.publish_outputs`. Transitions run in a callback
group of their own, on threads of their own (:mod:`liver_landmarks.ros.executor`), so
while the model loads, services answer and ``/diagnostics`` says "configuring"; every
other callback runs in the spinning thread.

Run: ``ros2 run liver_landmarks segmentation_node --ros-args --params-file
config/segment.yaml -r image:=/camera/image`` or ``python -m
liver_landmarks.ros.segmentation_node ...`` with the same arguments.
"""

from dataclasses import replace
import sys
import threading

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from liver_landmarks.ros.diagnostics import (
    build_array, build_status, ERROR, health_values, lifecycle_status, NodeHealth)
from liver_landmarks.ros.executor import TransitionThreadsExecutor
from liver_landmarks.ros.frame_processor import (
    FrameProcessor, limits_of, load_pipeline, ThrottledLog)
from liver_landmarks.ros.messages import build_output_messages, OUTPUT_MSGTYPES
from liver_landmarks.ros.node_parameters import (
    ALL_PARAMETERS, check_changes, ConfigurationError, postprocess_config, read_settings,
    refuse_mistyped_command_line_values)
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNodeMixin, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

NODE_NAME = 'segmentation_node'
#: Outputs built for every processed frame; the others only while someone subscribes.
ALWAYS_BUILT = ('labels', 'polylines')
_MESSAGE_CLASSES = {'sensor_msgs/msg/Image': Image, 'sensor_msgs/msg/PointCloud2': PointCloud2,
                    'visualization_msgs/msg/MarkerArray': MarkerArray}
DIAGNOSTICS_PERIOD_S = 1.0


def output_qos(key: str) -> QoSProfile:
    """Images depth 2 (large; only the newest matters), polylines and markers depth 10."""
    depth = 10 if key in ('polylines', 'markers') else 2
    return QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE)


def input_qos(reliability: str) -> QoSProfile:
    """Depth 1: only the newest frame matters and the slot behind it holds one more."""
    policy = (ReliabilityPolicy.RELIABLE if reliability == 'reliable'
              else ReliabilityPolicy.BEST_EFFORT)
    return QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=policy)


class SegmentationNode(LifecycleNodeMixin, Node):
    """The managed node: parameters, lifecycle, subscription, publishers and diagnostics."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs):
        Node.__init__(self, node_name, **kwargs)
        # Reentrant: a transition that loads a model must not hold up get_state.
        self.transition_callback_group = ReentrantCallbackGroup()
        LifecycleNodeMixin.__init__(self, callback_group=self.transition_callback_group)
        for spec in ALL_PARAMETERS:
            self.declare_parameter(spec.name, spec.default, spec.descriptor())
        # Registered after declaring: start-up values are validated at configure, where a
        # refusal can say how to fix config/segment.yaml instead of killing the process.
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.processor, self.settings, self.configure_error = None, None, ''
        self._identity, self._publishers_by_key, self._subscription = {}, {}, None
        self._log = ThrottledLog(self.get_logger())
        self._diagnostics_publisher = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        # Steady clock: diagnostics keep coming (and warn) while a replayed bag is paused.
        self._diagnostics_timer = self.create_timer(
            DIAGNOSTICS_PERIOD_S, self.publish_diagnostics,
            clock=Clock(clock_type=ClockType.STEADY_TIME))

    @property
    def lifecycle_state(self) -> str:
        """Label of the lifecycle state now, transition states ('configuring') included."""
        return self._state_machine.current_state[1]

    def parameter_values(self) -> dict:
        """Return the current value of every declared node parameter by name."""
        return {spec.name: self.get_parameter(spec.name).value for spec in ALL_PARAMETERS}

    def _validate_parameters(self, parameters) -> SetParametersResult:
        try:
            check_changes({parameter.name: parameter.value for parameter in parameters},
                          self.parameter_values(), self.lifecycle_state != 'unconfigured')
        except ConfigurationError as error:
            self._log('parameter refused', 'warning', f'parameter change refused: {error}')
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, parameters):
        if self._apply_current_values():
            self._log('parameters applied', 'info',
                      f'parameters applied: {", ".join(sorted(p.name for p in parameters))}; '
                      f'post-processing now {self.settings.postprocess}')

    def _apply_current_values(self) -> bool:
        """Hand the run-time parameters' values to the processor; False before configure."""
        settings, processor = self.settings, self.processor
        if settings is None or processor is None:
            return False  # read at configure
        values = self.parameter_values()
        self.settings = replace(settings, postprocess=postprocess_config(values),
                                **{name: values[name] for name in
                                   ('max_frame_age_s', 'max_future_stamp_s', 'input_timeout_s')})
        processor.update(limits_of(self.settings), self.settings.postprocess)
        return True

    def on_configure(self, state) -> TransitionCallbackReturn:
        """Validate the parameters, load and verify the model, warm it up, make publishers."""
        try:
            settings = read_settings(self.parameter_values())
            pipeline, self._identity = load_pipeline(settings)
        except ConfigurationError as error:
            return self._configure_failed(str(error))
        except Exception as error:  # noqa: BLE001 - any load failure is reported, not raised
            return self._configure_failed(
                f'cannot load the model: {type(error).__name__}: {error}')
        self.settings, self.configure_error = settings, ''
        self.processor = FrameProcessor(pipeline, self.publish_outputs,
                                        lambda: self.get_clock().now().nanoseconds,
                                        self.get_logger(), limits_of(settings))
        for key, msgtype in OUTPUT_MSGTYPES.items():
            self._publishers_by_key[key] = self.create_lifecycle_publisher(
                _MESSAGE_CLASSES[msgtype], f'~/{key}', output_qos(key))
        self._apply_current_values()  # values set while the model loaded
        self.get_logger().info(f'configured: model {settings.model_card} on '
                               f'{self._identity["backend"]}/{self._identity["device"]}')
        return super().on_configure(state)

    def _configure_failed(self, message: str) -> TransitionCallbackReturn:
        self.configure_error = message
        self.get_logger().error(f'configure failed: {message}')
        return TransitionCallbackReturn.FAILURE

    def on_activate(self, state) -> TransitionCallbackReturn:
        """Start the processor's worker and subscribe to ``image`` (or its compressed topic)."""
        self.processor.start()
        compressed = self.settings.image_transport == 'compressed'
        # As image_transport names it: the compressed topic hangs below the remapped image.
        topic = self.resolve_topic_name('image') + '/compressed' if compressed else 'image'
        self._subscription = self.create_subscription(
            CompressedImage if compressed else Image, topic,
            self.processor.submit_compressed if compressed else self.processor.submit,
            input_qos(self.settings.input_reliability))
        self.get_logger().info(f'active: segmenting {self._subscription.topic_name}')
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        """Stop taking frames: unsubscribe, then let the worker finish its frame and stop."""
        self._stop_processing()
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        """Free the model and the publishers."""
        self._release()
        return super().on_cleanup(state)

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        """Stop and free everything, from whichever state the node is in."""
        self._release()
        return super().on_shutdown(state)

    def on_error(self, state) -> TransitionCallbackReturn:
        """Recover to unconfigured: stop and free everything."""
        self.get_logger().error(f'error while {state.label}; cleaning up to unconfigured')
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _stop_processing(self):
        if self._subscription is not None:
            self.destroy_subscription(self._subscription)
            self._subscription = None
        if self.processor is not None:
            self.processor.stop()

    def _release(self):
        self._stop_processing()
        for publisher in self._publishers_by_key.values():
            self.destroy_lifecycle_publisher(publisher)
        self._publishers_by_key, self._identity, self.settings = {}, {}, None
        if self.processor is not None:
            self.processor.close()
        self.processor = None

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
        self._release()

    def autostart(self) -> bool:
        """Configure and activate if the ``autostart`` parameter asks to; True when active."""
        if not self.get_parameter('autostart').value:
            self.get_logger().info('autostart is false: waiting for lifecycle transitions')
            return False
        if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            return False
        return self.trigger_activate() == TransitionCallbackReturn.SUCCESS

    def publish_outputs(self, header, output):
        """Build and publish the outputs of one frame (the processor's worker thread)."""
        wanted = {key for key, publisher in self._publishers_by_key.items()
                  if key in ALWAYS_BUILT or publisher.get_subscription_count() > 0}
        messages = build_output_messages(header, output.frame_rgb, output.result, wanted)
        for key, message in messages.items():
            self._publishers_by_key[key].publish(message)

    def publish_diagnostics(self):
        """Publish one ``DiagnosticArray`` about the node (steady 1 Hz timer)."""
        self._diagnostics_publisher.publish(
            build_array(self.get_clock().now().to_msg(), [self.diagnostic_status()]))

    def diagnostic_status(self) -> DiagnosticStatus:
        """Return the node's status now: level, message, identity, rates, latency, counts."""
        state, processor, subscription = self.lifecycle_state, self.processor, self._subscription
        level, message = lifecycle_status(state, self.configure_error)
        if state == 'active' and processor is not None and subscription is not None:
            level, message = processor.assess(subscription.topic_name)
            if processor.input_silent():
                level, message = self._check_input_types(subscription.topic_name, level, message)
        identity = {'state': state, **self._identity}
        if subscription is not None:
            identity['input_topic'] = subscription.topic_name
        health = processor.health if processor is not None else NodeHealth()
        return build_status(f'{self.get_name()}: segmentation', level, message,
                            health_values(health, identity),
                            hardware_id=self._identity.get('device', ''))

    def _check_input_types(self, topic: str, level, message: str):
        """When no frame arrives, say so if the topic's publishers send another type."""
        wanted = f'sensor_msgs/msg/{self._subscription.msg_type.__name__}'
        wrong = sorted({info.topic_type + _publisher_name(info)
                        for info in self.get_publishers_info_by_topic(topic)
                        if info.topic_type != wanted})
        if not wrong:
            return level, message
        message = (f'{topic} carries {", ".join(wrong)}, but this node takes {wanted} there '
                   '(image_transport parameter, remapping of image); ' + message)
        self._log('wrong input type', 'error', message)
        return ERROR, message


def _publisher_name(info) -> str:
    """Return ' (from /ns/node)', or '' while discovery has not yet named the node."""
    if info.node_name.startswith('_NODE_NAME_UNKNOWN'):
        return ''
    return f' (from {info.node_namespace.rstrip("/")}/{info.node_name})'


def make_executor(node: SegmentationNode, context=None) -> TransitionThreadsExecutor:
    """Return an executor spinning ``node``: transitions on threads, the rest inline."""
    executor = TransitionThreadsExecutor([node.transition_callback_group], context=context)
    executor.add_node(node)
    return executor


def main(args=None) -> int:
    """Run the node until Ctrl-C or shutdown; autostart walks it to active."""
    rclpy.init(args=args)
    node = executor = None
    try:
        refuse_mistyped_command_line_values(sys.argv if args is None else args)
        node = SegmentationNode()
        executor = make_executor(node)
        # Walked from a thread so the node answers services while the model loads.
        threading.Thread(target=node.autostart, name='autostart', daemon=True).start()
        executor.spin()
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
        if executor is not None:
            executor.shutdown(timeout_sec=5.0)
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
