# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Every threshold of the post-processing, in one frozen dataclass.

Lengths are given at the 416x320 working size unless the field name says
otherwise, and are scaled with the working image's rows / 320, so the same
configuration behaves alike on masks of another size.

Each field carries its own description and accepted range in its metadata. That one
schema is what the dataclass enforces, what the node declares as its parameters'
descriptors, and what ``config/segment.yaml`` and docs/node.md are tested against.
"""

from dataclasses import dataclass, field, fields
import math

from liver_landmarks.drawing import line_thickness

#: Rows of the working size at which the pixel lengths of the configuration hold.
LENGTH_REFERENCE_ROWS = 320
#: Accepted values of ``PostProcessConfig.fov_method``.
FOV_METHODS = ('threshold', 'circle', 'none')


def setting(default, description: str, minimum=None, maximum=None, choices: tuple = ()):
    """Declare one field with its description and accepted range or choices."""
    return field(default=default, metadata={
        'description': description, 'minimum': minimum, 'maximum': maximum,
        'choices': tuple(choices)})


def out_of_schema(name: str, value, metadata) -> str:
    """Return why ``value`` is outside a field's declared range or choices ('' when fine)."""
    choices = metadata.get('choices', ())
    if choices and value not in choices:
        return f'{name} must be one of {", ".join(choices)}, got {value!r}'
    minimum, maximum = metadata.get('minimum'), metadata.get('maximum')
    if minimum is None or isinstance(value, (bool, str)):
        return ''
    if (isinstance(value, float) and math.isnan(value)) or not minimum <= value <= maximum:
        return f'{name} must lie in [{minimum}, {maximum}], got {value!r}'
    return ''


@dataclass(frozen=True)
class PostProcessConfig:
    """Parameters of :class:`~liver_landmarks.postprocess.PostProcessor`.

    Each field's description and range are in its metadata (see :func:`setting`);
    ``dataclasses.fields(PostProcessConfig)`` lists them.
    """

    fov_method: str = setting(
        'threshold', "How the endoscope's field of view is found: threshold (outside = the "
        'dark region, all channels <= fov_threshold, connected to the image border), circle '
        '(a circle fitted to the edge of that region) or none (no cull).', choices=FOV_METHODS)
    fov_threshold: int = setting(
        2, 'Pixels whose every channel is at or below this are outside the field of view; '
        'the paper uses 2 (2/255 on a 0..1 scale).', minimum=0, maximum=255)
    ligament_cull: bool = setting(
        True, 'Drop ligament components lying above both, or below both, the ridge and the '
        'silhouette.')
    join_gap_px: float = setting(
        15.0, 'Join same-class skeleton fragments whose end points lie at most this far apart '
        '(pixel centre to pixel centre, pixels at 416x320).', minimum=0.0, maximum=1000.0)
    min_branch_length_px: float = setting(
        10.0, 'Drop skeleton side branches shorter than this as spurs (pixels at 416x320).',
        minimum=0.0, maximum=1000.0)
    rdp_epsilon_px: float = setting(
        1.0, 'Ramer-Douglas-Peucker tolerance (pixels at 416x320).', minimum=0.0, maximum=100.0)
    sample_step_px: float = setting(
        5.0, 'Arc-length spacing of the output polyline points, in output-image pixels.',
        minimum=0.1, maximum=1000.0)
    line_thickness_px: float = setting(
        12.0, 'Width of the re-drawn label mask at 1080 output rows, scaled with the output '
        'height, at least 1 px.', minimum=0.5, maximum=200.0)
    min_polyline_length_px: float = setting(
        10.0, 'Drop whole polylines shorter than this, such as the skeleton of an isolated '
        'speck (pixels at 416x320).', minimum=0.0, maximum=10000.0)

    def __post_init__(self):
        """Refuse values outside the fields' declared ranges and choices, naming the field."""
        for item in fields(self):
            problem = out_of_schema(item.name, getattr(self, item.name), item.metadata)
            if problem:
                raise ValueError(problem)

    @staticmethod
    def length_scale(working_rows: int) -> float:
        """Return the factor from reference (320-row) lengths to ``working_rows`` rows."""
        return working_rows / LENGTH_REFERENCE_ROWS

    def thickness_for(self, output_rows: int) -> int:
        """Return the label-mask line thickness in pixels for an output of ``output_rows``."""
        return line_thickness(output_rows, self.line_thickness_px)
