# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Parameters of the segmentation node: declarations, validation, model card resolution.

Every message here says how to fix the problem, because the person who reads it is
setting up a node in an operating room, not reading this code.
"""

from dataclasses import dataclass, fields, replace
import math
from pathlib import Path

from liver_landmarks.model.artifact import shipped_model_cards, shipped_model_dirs
from liver_landmarks.postprocess.config import PostProcessConfig
from rcl_interfaces.msg import (
    FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType)

BACKENDS = ('auto', 'torch', 'openvino', 'tensorrt')
DEVICES = ('auto', 'cpu', 'cuda')
RELIABILITIES = ('best_effort', 'reliable')
#: How frames arrive, named as image_transport names its plugins.
IMAGE_TRANSPORTS = ('raw', 'compressed')

#: Where the node's parameters live in a source checkout and in an installed share dir.
PARAMS_FILE = 'config/segment.yaml'


class ConfigurationError(ValueError):
    """A parameter value the node cannot work with; the message says how to fix it."""


@dataclass(frozen=True)
class ParameterSpec:
    """One declared parameter: default, description, and what values it accepts."""

    name: str
    default: object
    description: str
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    read_only: bool = False

    def descriptor(self) -> ParameterDescriptor:
        """Return the ``ParameterDescriptor`` that ``ros2 param describe`` shows."""
        descriptor = ParameterDescriptor(
            name=self.name, type=_parameter_type(self.default), description=self.description,
            read_only=self.read_only)
        if self.choices:
            descriptor.additional_constraints = 'one of: ' + ', '.join(self.choices)
        if isinstance(self.default, bool) or self.minimum is None:
            return descriptor
        if isinstance(self.default, int):
            descriptor.integer_range = [IntegerRange(
                from_value=int(self.minimum), to_value=int(self.maximum), step=1)]
        elif isinstance(self.default, float):
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=float(self.minimum), to_value=float(self.maximum), step=0.0)]
        return descriptor

    def check(self, value):
        """Raise :class:`ConfigurationError` when ``value`` is not acceptable."""
        if self.choices and value not in self.choices:
            raise ConfigurationError(
                f'{self.name} {value!r} is not one of {", ".join(self.choices)}: set {self.name} '
                f'to one of them in {PARAMS_FILE} or with -p {self.name}:=VALUE')
        if self.minimum is not None and not isinstance(value, (bool, str)):
            if not (self.minimum <= value <= self.maximum) or \
                    (isinstance(value, float) and math.isnan(value)):
                raise ConfigurationError(
                    f'{self.name} {value!r} is outside [{self.minimum}, {self.maximum}]: '
                    f'set {self.name} within that range in {PARAMS_FILE}')


def _parameter_type(value) -> int:
    if isinstance(value, bool):
        return ParameterType.PARAMETER_BOOL
    if isinstance(value, int):
        return ParameterType.PARAMETER_INTEGER
    if isinstance(value, float):
        return ParameterType.PARAMETER_DOUBLE
    return ParameterType.PARAMETER_STRING


NODE_PARAMETERS = (
    ParameterSpec('model_card', '', 'Path of the model card JSON (architecture, weights file, '
                  'sha256). Empty: the model shipped in share/liver_landmarks/models.'),
    ParameterSpec('backend', 'auto', 'Inference backend; auto picks TensorRT on a CUDA GPU '
                  'when available, else OpenVINO on CPU, else PyTorch.', choices=BACKENDS),
    ParameterSpec('device', 'auto', 'Device the backend runs on; auto prefers cuda.',
                  choices=DEVICES),
    ParameterSpec('input_reliability', 'best_effort', 'Reliability of the image subscription; '
                  'best_effort matches both reliable and best-effort publishers.',
                  choices=RELIABILITIES, read_only=True),
    ParameterSpec('image_transport', 'raw', 'How frames arrive: raw subscribes to image '
                  '(sensor_msgs/Image); compressed to image + /compressed, remapped name '
                  "included (sensor_msgs/CompressedImage, JPEG or PNG as image_transport's "
                  'compressed plugin sends them).', choices=IMAGE_TRANSPORTS, read_only=True),
    ParameterSpec('max_frame_age_s', 1.0, 'Frames whose header stamp is older than this '
                  '(node clock, so use_sim_time works) are dropped and counted; 0 disables.',
                  minimum=0.0, maximum=3600.0),
    ParameterSpec('max_future_stamp_s', 1.0, 'Frames whose header stamp is further than this '
                  'ahead of the node clock are dropped and counted like stale ones; 0 '
                  'disables.', minimum=0.0, maximum=3600.0),
    ParameterSpec('input_timeout_s', 2.0, 'Diagnostics turn WARN when, while active, no frame '
                  'has arrived for this long, or frames arrive but none has been published '
                  'for this long (ERROR after five times as long).',
                  minimum=0.1, maximum=3600.0),
    ParameterSpec('autostart', True, 'Walk the lifecycle to active at start-up, so the node '
                  'works without a lifecycle manager.'),
)


def _postprocess_spec(field) -> ParameterSpec | None:
    """Declare a ``PostProcessConfig`` field as a parameter, described as its metadata says."""
    if not isinstance(field.default, (bool, int, float, str)):
        return None  # not expressible as a ROS parameter; stays at its default
    metadata = field.metadata
    return ParameterSpec(field.name, field.default, metadata['description'],
                         choices=metadata['choices'], minimum=metadata['minimum'],
                         maximum=metadata['maximum'])


POSTPROCESS_PARAMETERS = tuple(
    spec for spec in map(_postprocess_spec, fields(PostProcessConfig)) if spec is not None)
ALL_PARAMETERS = NODE_PARAMETERS + POSTPROCESS_PARAMETERS
SPECS = {spec.name: spec for spec in ALL_PARAMETERS}
#: Parameters read only at configure; changing them needs cleanup + configure.
MODEL_PARAMETERS = ('model_card', 'backend', 'device')
#: Parameters read only at start-up.
START_UP_PARAMETERS = ('autostart',)


def _markdown_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f'`{value!r}`' if isinstance(value, str) else str(value)


def parameters_table() -> str:
    """Return the Markdown table of every parameter that docs/node.md shows.

    Generated from the declarations (and so from ``PostProcessConfig``'s field
    metadata); a test keeps the docs equal to it.
    """
    rows = ['| name | default | range / choices | when | description |',
            '|---|---|---|---|---|']
    for spec in ALL_PARAMETERS:
        accepted = ', '.join(f'`{choice}`' for choice in spec.choices) if spec.choices else (
            f'{spec.minimum}..{spec.maximum}' if spec.minimum is not None else '')
        when = ('configure' if spec.name in MODEL_PARAMETERS else 'read-only' if spec.read_only
                else 'start-up' if spec.name in START_UP_PARAMETERS else 'run time')
        rows.append(f'| `{spec.name}` | {_markdown_value(spec.default)} | {accepted} | {when} | '
                    f'{spec.description} |')
    return '\n'.join(rows) + '\n'


def postprocess_config(values: dict, base: PostProcessConfig | None = None) -> PostProcessConfig:
    """Build a :class:`PostProcessConfig` from parameter values, or explain what is wrong."""
    changes = {name: value for name, value in values.items()
               if name in SPECS and SPECS[name] in POSTPROCESS_PARAMETERS}
    for name, value in changes.items():
        SPECS[name].check(value)
    try:
        return replace(base or PostProcessConfig(), **changes)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(
            f'post-processing settings {sorted(changes)} refused: {error}: correct them in '
            f'{PARAMS_FILE}') from error


def check_changes(changes: dict, current: dict, model_loaded: bool):
    """Raise :class:`ConfigurationError` when a set of run-time changes cannot be taken.

    ``current`` holds every parameter's value now; ``model_loaded`` is True from
    configure on, when the parameters the model is loaded with can no longer change.
    """
    for name in set(changes) & set(SPECS):
        SPECS[name].check(changes[name])
    model_changes = sorted(set(changes) & set(MODEL_PARAMETERS))
    if model_changes and model_loaded:
        raise ConfigurationError(
            f'{", ".join(model_changes)} is read when the model loads: deactivate and clean '
            'up the node, set it, then configure again')
    postprocess_config({**current, **changes})


@dataclass(frozen=True)
class NodeSettings:
    """Validated parameter values the node configures itself with."""

    model_card: Path
    backend: str
    device: str
    input_reliability: str
    image_transport: str
    max_frame_age_s: float
    max_future_stamp_s: float
    input_timeout_s: float
    postprocess: PostProcessConfig


def resolve_model_card(value: str) -> Path:
    """Return the model card file ``value`` names, or the shipped one when it is empty."""
    if value:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else Path.cwd() / path
        if not path.is_file():
            raise ConfigurationError(
                f'model_card {value!r} is not a file (looked at {path}): set model_card to a '
                f'model card JSON, or leave it empty for the shipped model')
        return path.resolve()
    searched, cards = shipped_model_dirs(), shipped_model_cards()
    if cards:
        return cards[0]
    raise ConfigurationError(
        'model_card is empty and no shipped model card (*.json) is in '
        + ', '.join(str(folder) for folder in searched)
        + ': set model_card to a model card JSON written by the training package')


def command_line_overrides(argv) -> dict:
    """Return ``{name: text}`` of every ``-p [NODE:]NAME:=VALUE`` among the ROS arguments."""
    overrides = {}
    in_ros_args = False
    items = iter(argv)
    for item in items:
        if item == '--ros-args':
            in_ros_args = True
        elif item == '--':
            in_ros_args = False
        elif in_ros_args and item in ('-p', '--param'):
            name, assign, text = next(items, '').partition(':=')
            if assign:
                overrides[name.rpartition(':')[2]] = text
    return overrides


_TYPE_NAMES = {bool: 'bool', int: 'integer', float: 'double', str: 'string',
               type(None): 'null', list: 'list', dict: 'mapping'}
_EXAMPLES = {bool: 'true', int: '10', float: '10.0', str: 'VALUE'}


def refuse_mistyped_command_line_values(argv):
    """Start-up check: refuse a ``-p NAME:=VALUE`` whose type is not the parameter's.

    The error says how to write the value. rclpy refuses some of these at start-up,
    but when the value comes on top of a ``--params-file`` that sets the same name, rcl
    silently keeps the file's value for others (``-p sample_step_px:=coarse``,
    ``-p autostart:=7``), so the node would run with a setting the user did not ask for.
    Values are read as YAML, as rcl reads them.
    """
    import yaml

    for name, text in command_line_overrides(argv).items():
        if name not in SPECS:
            continue
        wanted = type(SPECS[name].default)
        try:
            value = yaml.safe_load(text) if text else ''
        except yaml.YAMLError:
            value = text
        if type(value) is not wanted:
            hint = ' (a double needs its decimal point)' if wanted is float else ''
            raise ConfigurationError(
                f'-p {name}:={text} gives {_TYPE_NAMES.get(type(value), type(value).__name__)}'
                f', but {name} is a {_TYPE_NAMES[wanted]} parameter: write it like -p '
                f'{name}:={_EXAMPLES[wanted]}{hint}')


def read_settings(values: dict) -> NodeSettings:
    """Validate every parameter value and resolve the model card; raise ConfigurationError."""
    for spec in NODE_PARAMETERS:
        spec.check(values[spec.name])
    return NodeSettings(
        model_card=resolve_model_card(values['model_card']),
        backend=values['backend'], device=values['device'],
        input_reliability=values['input_reliability'],
        image_transport=values['image_transport'],
        max_frame_age_s=float(values['max_frame_age_s']),
        max_future_stamp_s=float(values['max_future_stamp_s']),
        input_timeout_s=float(values['input_timeout_s']),
        postprocess=postprocess_config(values))
