# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Every threshold of the post-processing, in one frozen dataclass.

Lengths are given at the 416x320 working size unless the field name says
otherwise, and are scaled with the working image's rows / 320, so the same
configuration behaves alike on masks of another size.
"""

from dataclasses import dataclass

from liver_landmarks.drawing import line_thickness

#: Rows of the working size at which the pixel lengths of the configuration hold.
LENGTH_REFERENCE_ROWS = 320
#: Accepted values of ``PostProcessConfig.fov_method``.
FOV_METHODS = ('threshold', 'circle', 'none')


@dataclass(frozen=True)
class PostProcessConfig:
    """Parameters of :class:`~liver_landmarks.postprocess.PostProcessor`.

    Fields:
        fov_method: how the camera's field of view is found in the frame:
            ``'threshold'`` (outside = the dark region, all channels <= ``fov_threshold``,
            connected to the image border), ``'circle'`` (a circle fitted to the edge of
            that region) or ``'none'`` (no cull).
        fov_threshold: 0..255; the paper uses 2 (2/255 on a 0..1 scale).
        ligament_cull: drop ligament components lying above both, or below both, the
            ridge and the silhouette.
        join_gap_px: same-class skeleton fragments whose end points lie at most this far
            apart (pixel centre to pixel centre) are joined by a line.
        min_branch_length_px: side branches shorter than this are dropped as spurs.
        rdp_epsilon_px: Ramer-Douglas-Peucker tolerance.
        sample_step_px: arc-length step of the output polylines, in OUTPUT image pixels.
        line_thickness_px: thickness of the re-drawn label mask at 1080 output rows,
            scaled with the output height, at least 1 px.
        min_polyline_length_px: a whole polyline shorter than this (e.g. the skeleton of
            an isolated speck) is dropped; added beyond the issue's list.
    """

    fov_method: str = 'threshold'
    fov_threshold: int = 2
    ligament_cull: bool = True
    join_gap_px: float = 15.0
    min_branch_length_px: float = 10.0
    rdp_epsilon_px: float = 1.0
    sample_step_px: float = 5.0
    line_thickness_px: float = 12.0
    min_polyline_length_px: float = 10.0

    def __post_init__(self):
        """Refuse values that cannot work, naming the field."""
        if self.fov_method not in FOV_METHODS:
            raise ValueError(f'fov_method must be one of {FOV_METHODS}, got {self.fov_method!r}')
        if not 0 <= self.fov_threshold <= 255:
            raise ValueError(f'fov_threshold must lie in 0..255, got {self.fov_threshold}')
        for name in ('join_gap_px', 'min_branch_length_px', 'rdp_epsilon_px',
                     'line_thickness_px', 'min_polyline_length_px'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must not be negative, got {getattr(self, name)}')
        if self.sample_step_px <= 0:
            raise ValueError(f'sample_step_px must be positive, got {self.sample_step_px}')

    @staticmethod
    def length_scale(working_rows: int) -> float:
        """Return the factor from reference (320-row) lengths to ``working_rows`` rows."""
        return working_rows / LENGTH_REFERENCE_ROWS

    def thickness_for(self, output_rows: int) -> int:
        """Return the label-mask line thickness in pixels for an output of ``output_rows``."""
        return line_thickness(output_rows, self.line_thickness_px)
