# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""ROS messages of the segmentation outputs, built the same way by the node and the bag tools.

Every output carries the input image's header, so a consumer pairs them by stamp.
Output keys are the topic names below the node's private namespace (``~/labels``...).
"""

import cv2
from geometry_msgs.msg import Point
from liver_landmarks.landmarks import COLOURS_RGB, Landmark, LANDMARKS
from liver_landmarks.ros.image_conversion import (
    bytes_to_uint8_array, new_message, numpy_to_image_msg, wrap_image_msg, zeroed_uint8_array)
import numpy as np
from sensor_msgs.msg import Image, PointCloud2, PointField
from visualization_msgs.msg import Marker, MarkerArray

#: Output key -> ROS message type name, in publishing order.
OUTPUT_MSGTYPES = {
    'labels': 'sensor_msgs/msg/Image',
    **{f'{landmark.label}/mask': 'sensor_msgs/msg/Image' for landmark in LANDMARKS},
    'polylines': 'sensor_msgs/msg/PointCloud2',
    'markers': 'visualization_msgs/msg/MarkerArray',
    'overlay': 'sensor_msgs/msg/Image',
}
OUTPUT_KEYS = tuple(OUTPUT_MSGTYPES)
MASK_KEYS = {f'{landmark.label}/mask': landmark for landmark in LANDMARKS}

#: Point layout of ``~/polylines``: x, y in input-image pixels, landmark id, polyline index.
CLOUD_DTYPE = np.dtype({'names': ['x', 'y', 'landmark', 'polyline'],
                        'formats': ['<f4', '<f4', 'u1', '<u2'],
                        'offsets': [0, 4, 8, 10], 'itemsize': 12})
_CLOUD_FIELDS = (('x', 0, PointField.FLOAT32), ('y', 4, PointField.FLOAT32),
                 ('landmark', 8, PointField.UINT8), ('polyline', 10, PointField.UINT16))
_POINTFIELD_DTYPES = {
    PointField.INT8: 'i1', PointField.UINT8: 'u1', PointField.INT16: 'i2',
    PointField.UINT16: 'u2', PointField.INT32: 'i4', PointField.UINT32: 'u4',
    PointField.FLOAT32: 'f4', PointField.FLOAT64: 'f8',
}

#: Width of the RViz line strips, in the markers' unit (input-image pixels).
MARKER_LINE_WIDTH_PX = 4.0


def _ordered_polylines(polylines):
    """Yield ``(landmark, points)`` in landmark id order, then list order."""
    for landmark in LANDMARKS:
        for points in polylines.get(landmark, ()):
            yield landmark, np.asarray(points, dtype=np.float32).reshape(-1, 2)


def polylines_to_cloud(header, polylines) -> PointCloud2:
    """Pack polylines into a ``PointCloud2``; width 0 when nothing is visible.

    ``polyline`` numbers the polylines of the frame from 0 in landmark id order; the
    points of each polyline keep their order along the curve.
    """
    ordered = list(_ordered_polylines(polylines))
    # Filled in place: np.concatenate would drop the padding byte and change point_step.
    cloud_points = np.empty(sum(len(points) for _, points in ordered), dtype=CLOUD_DTYPE)
    start = 0
    for index, (landmark, points) in enumerate(ordered):
        chunk = cloud_points[start:start + len(points)]
        chunk['x'] = points[:, 0]
        chunk['y'] = points[:, 1]
        chunk['landmark'] = int(landmark)
        chunk['polyline'] = index
        start += len(points)
    msg = new_message(PointCloud2)
    msg.header = header
    msg.height = 1
    msg.width = len(cloud_points)
    msg.fields = [PointField(name=name, offset=offset, datatype=datatype, count=1)
                  for name, offset, datatype in _CLOUD_FIELDS]
    msg.is_bigendian = False
    msg.point_step = CLOUD_DTYPE.itemsize
    msg.row_step = CLOUD_DTYPE.itemsize * len(cloud_points)
    msg.is_dense = True
    msg.data = bytes_to_uint8_array(cloud_points)
    return msg


def cloud_to_polylines(msg) -> dict:
    """Unpack a ``~/polylines`` cloud (rclpy or rosbags message) into polylines per landmark.

    Returns every landmark as a key, with an empty list where none is visible.
    """
    byte_order = '>' if msg.is_bigendian else '<'
    fields = {field.name: field for field in msg.fields}
    missing = {'x', 'y', 'landmark', 'polyline'} - set(fields)
    if missing:
        raise ValueError(f'point cloud lacks the fields {sorted(missing)}: it is not a '
                         'liver_landmarks polyline cloud (x, y, landmark, polyline)')
    names = ['x', 'y', 'landmark', 'polyline']
    dtype = np.dtype({
        'names': names,
        'formats': [byte_order + _POINTFIELD_DTYPES[fields[name].datatype] for name in names],
        'offsets': [fields[name].offset for name in names],
        'itemsize': msg.point_step})
    count = msg.width * msg.height
    cloud_points = np.frombuffer(memoryview(msg.data).cast('B'), dtype=dtype, count=count)
    polylines = {landmark: [] for landmark in LANDMARKS}
    indices, starts = np.unique(cloud_points['polyline'], return_index=True)
    for index in indices[np.argsort(starts)]:
        members = cloud_points[cloud_points['polyline'] == index]
        points = np.stack([members['x'], members['y']], axis=1).astype(np.float32)
        polylines[Landmark(int(members['landmark'][0]))].append(points)
    return polylines


#: Slot layouts of ``geometry_msgs/Point`` that :func:`_points` fills directly.
_POINT_SLOTS = (['_x', '_y', '_z'], ['_x', '_y', '_z', '_check_fields'])


def _points(points: np.ndarray) -> list:
    """Return ``Point`` messages for (N, 2) (x, y) coordinates, z = 0.

    Polylines have hundreds of points and the generated constructor runs a setter per
    field; where the class has the known slot layout the slots are filled directly with
    what the setters would store (plain floats), else the constructor is used.
    """
    coordinates = points.astype(np.float64).tolist()
    if list(getattr(Point, '__slots__', ())) not in _POINT_SLOTS:
        return [Point(x=x, y=y) for x, y in coordinates]
    check_fields = '_check_fields' in Point.__slots__
    made = []
    for x, y in coordinates:
        point = Point.__new__(Point)
        point._x, point._y, point._z = x, y, 0.0
        if check_fields:
            point._check_fields = False
        made.append(point)
    return made


def polylines_to_markers(header, polylines) -> MarkerArray:
    """One ``LINE_STRIP`` per polyline (``ns`` = landmark name), after a ``DELETEALL``.

    The ``DELETEALL`` first makes RViz forget the previous frame's strips, which may
    have been more.
    """
    clear = Marker()
    clear.header = header
    clear.action = Marker.DELETEALL
    markers = [clear]
    counts = dict.fromkeys(LANDMARKS, 0)
    for landmark, points in _ordered_polylines(polylines):
        marker = Marker()
        marker.header = header
        marker.ns = landmark.label
        marker.id = counts[landmark]
        counts[landmark] += 1
        marker.type = Marker.LINE_STRIP
        marker.action = Marker.ADD
        marker.pose.orientation.w = 1.0
        marker.scale.x = MARKER_LINE_WIDTH_PX
        red, green, blue = COLOURS_RGB[landmark]
        marker.color.r, marker.color.g, marker.color.b = red / 255.0, green / 255.0, blue / 255.0
        marker.color.a = 1.0
        marker.points = _points(points)
        markers.append(marker)
    return MarkerArray(markers=markers)


def landmark_mask_msg(labels: np.ndarray, landmark: Landmark, header) -> Image:
    """Build the mono8 mask of one landmark (255 where ``labels`` holds its id, else 0).

    The comparison writes straight into the message's buffer: one pass, no copies.
    """
    height, width = labels.shape
    buffer, pixels = zeroed_uint8_array(height * width)
    pixels = pixels.reshape(height, width)
    if labels.size == 1:  # OpenCV reads a one-element array as a scalar and refuses it
        pixels[...] = np.where(labels == int(landmark), 255, 0)
        return wrap_image_msg(buffer, height, width, 'mono8', header)
    written = cv2.compare(np.ascontiguousarray(labels), int(landmark), cv2.CMP_EQ, dst=pixels)
    if written is not pixels:  # OpenCV allocated its own output: bring it into the message
        pixels[...] = written
    return wrap_image_msg(buffer, height, width, 'mono8', header)


def build_output_messages(header, frame_rgb, result, wanted) -> dict:
    """Build the output messages named in ``wanted`` (keys of :data:`OUTPUT_MSGTYPES`).

    ``result`` is a :class:`~liver_landmarks.postprocess.LandmarkPolylines` at the
    frame's size; ``frame_rgb`` (HxWx3 uint8, RGB) is needed only for ``'overlay'``.
    """
    unknown = set(wanted) - set(OUTPUT_KEYS)
    if unknown:
        raise ValueError(f'unknown output keys {sorted(unknown)}: choose from {OUTPUT_KEYS}')
    messages = {}
    labels = np.asarray(result.labels, dtype=np.uint8)
    if 'labels' in wanted:
        messages['labels'] = numpy_to_image_msg(labels, 'mono8', header)
    for key, landmark in MASK_KEYS.items():
        if key in wanted:
            messages[key] = landmark_mask_msg(labels, landmark, header)
    if 'polylines' in wanted:
        messages['polylines'] = polylines_to_cloud(header, result.polylines)
    if 'markers' in wanted:
        messages['markers'] = polylines_to_markers(header, result.polylines)
    if 'overlay' in wanted:
        # Imported here so that consumers of the other outputs never load the drawing code.
        from liver_landmarks.overlay import draw_overlay

        overlay = draw_overlay(frame_rgb, result)
        messages['overlay'] = numpy_to_image_msg(np.ascontiguousarray(overlay), 'rgb8', header)
    return messages
