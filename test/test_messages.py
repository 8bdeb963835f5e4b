# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Output messages from real P2ILF contours: headers, masks, polyline cloud, markers, overlay."""

from pathlib import Path

from liver_landmarks.landmarks import COLOURS_RGB, Landmark, LANDMARKS
from liver_landmarks.p2ilf_io import rasterise_contours, read_contours
from liver_landmarks.postprocess.result import LandmarkPolylines
from liver_landmarks.ros.image_conversion import image_msg_to_numpy
from liver_landmarks.ros.messages import (
    build_output_messages, cloud_to_polylines, MASK_KEYS, OUTPUT_KEYS, polylines_to_cloud)
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

ANNOTATION = (Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'p2ilf_sample'
              / 'annotations' / 'patient2_1.xml')
WIDTH, HEIGHT = 1920, 1080


@pytest.fixture(scope='module')
def real_result():
    """Polylines of a real P2ILF annotation (every 4th point) and their re-drawn labels."""
    if not ANNOTATION.is_file():
        pytest.skip(f'P2ILF sample annotation not found at {ANNOTATION}')
    contours = read_contours(ANNOTATION)
    polylines = {landmark: [] for landmark in LANDMARKS}
    for contour in contours:
        polylines[contour.landmark].append(contour.points[::4].astype(np.float32))
    labels = rasterise_contours(contours, WIDTH, HEIGHT)
    return LandmarkPolylines(polylines=polylines, labels=labels)


def _header():
    header = Header(frame_id='laparoscope_optical')
    header.stamp.sec, header.stamp.nanosec = 1700000000, 123456789
    return header


def test_every_output_carries_the_input_header(real_result):
    frame = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    messages = build_output_messages(_header(), frame, real_result, set(OUTPUT_KEYS))
    assert set(messages) == set(OUTPUT_KEYS)
    for key, message in messages.items():
        headers = [marker.header for marker in message.markers] if key == 'markers' \
            else [message.header]
        for header in headers:
            assert header.frame_id == 'laparoscope_optical', key
            assert (header.stamp.sec, header.stamp.nanosec) == (1700000000, 123456789), key


def test_only_wanted_outputs_are_built(real_result):
    messages = build_output_messages(_header(), None, real_result, {'labels', 'polylines'})
    assert set(messages) == {'labels', 'polylines'}
    with pytest.raises(ValueError, match='unknown output keys'):
        build_output_messages(_header(), None, real_result, {'labels', 'depth'})


def test_labels_and_masks_match_the_result(real_result):
    messages = build_output_messages(_header(), None, real_result,
                                     {'labels', *MASK_KEYS})
    labels, encoding = image_msg_to_numpy(messages['labels'])
    assert encoding == 'mono8'
    np.testing.assert_array_equal(labels, real_result.labels)
    for key, landmark in MASK_KEYS.items():
        mask, encoding = image_msg_to_numpy(messages[key])
        assert encoding == 'mono8'
        assert set(np.unique(mask)) <= {0, 255}
        np.testing.assert_array_equal(mask == 255, real_result.labels == landmark)
        assert (mask == 255).any(), key


def test_cloud_round_trips_polylines_in_order(real_result):
    cloud = polylines_to_cloud(_header(), real_result.polylines)
    assert [field.name for field in cloud.fields] == ['x', 'y', 'landmark', 'polyline']
    assert cloud.height == 1
    assert cloud.width == sum(len(points) for lines in real_result.polylines.values()
                              for points in lines)
    decoded = cloud_to_polylines(cloud)
    for landmark in LANDMARKS:
        assert len(decoded[landmark]) == len(real_result.polylines[landmark])
        for got, expected in zip(decoded[landmark], real_result.polylines[landmark]):
            np.testing.assert_array_equal(got, expected)


def test_polyline_index_numbers_the_frames_polylines_from_zero(real_result):
    cloud = polylines_to_cloud(_header(), real_result.polylines)
    points = np.frombuffer(bytes(cloud.data), dtype=np.dtype({
        'names': ['landmark', 'polyline'], 'formats': ['u1', '<u2'], 'offsets': [8, 10],
        'itemsize': cloud.point_step}))
    total = sum(len(lines) for lines in real_result.polylines.values())
    assert sorted(set(points['polyline'].tolist())) == list(range(total))
    assert np.all(np.diff(points['landmark'].astype(int)) >= 0)


def test_nothing_visible_gives_an_empty_cloud():
    cloud = polylines_to_cloud(_header(), {landmark: [] for landmark in LANDMARKS})
    assert cloud.width == 0 and len(cloud.data) == 0
    assert cloud.header.frame_id == 'laparoscope_optical'
    assert cloud_to_polylines(cloud) == {landmark: [] for landmark in LANDMARKS}


def test_markers_start_with_deleteall_and_draw_each_polyline(real_result):
    markers = build_output_messages(_header(), None, real_result, {'markers'})['markers'].markers
    assert markers[0].action == Marker.DELETEALL
    strips = markers[1:]
    assert len(strips) == sum(len(lines) for lines in real_result.polylines.values())
    seen = set()
    for strip in strips:
        landmark = Landmark[strip.ns.upper()]
        assert strip.type == Marker.LINE_STRIP and strip.action == Marker.ADD
        assert (strip.ns, strip.id) not in seen
        seen.add((strip.ns, strip.id))
        colour = tuple(round(channel * 255) for channel in
                       (strip.color.r, strip.color.g, strip.color.b))
        assert colour == COLOURS_RGB[landmark] and strip.color.a == 1.0
        expected = real_result.polylines[landmark][strip.id]
        np.testing.assert_allclose([[point.x, point.y] for point in strip.points], expected)


def test_overlay_is_an_rgb8_image_of_the_frame_size(real_result):
    frame = np.full((HEIGHT, WIDTH, 3), 40, dtype=np.uint8)
    overlay_msg = build_output_messages(_header(), frame, real_result, {'overlay'})['overlay']
    overlay, encoding = image_msg_to_numpy(overlay_msg)
    assert encoding == 'rgb8' and overlay.shape == (HEIGHT, WIDTH, 3)
    ridge_pixels = real_result.labels == Landmark.RIDGE
    assert not np.array_equal(overlay[ridge_pixels], frame[ridge_pixels])


def test_messages_survive_serialisation_unchanged(real_result):
    # Fields are filled without copies or per-field setters: what goes on the wire must
    # still be exactly what the setters would have stored.
    frame = np.full((HEIGHT, WIDTH, 3), 90, dtype=np.uint8)
    messages = build_output_messages(_header(), frame, real_result, set(OUTPUT_KEYS))
    for key, message in messages.items():
        copy = deserialize_message(serialize_message(message), type(message))
        assert copy == message, key
    labels, _ = image_msg_to_numpy(deserialize_message(
        serialize_message(messages['labels']), type(messages['labels'])))
    np.testing.assert_array_equal(labels, real_result.labels)
    mask_msg = messages['ridge/mask']
    assert len(mask_msg.data) == mask_msg.step * mask_msg.height == HEIGHT * WIDTH
    strip = messages['markers'].markers[1]
    assert all(type(point.x) is float and point.z == 0.0 for point in strip.points)
