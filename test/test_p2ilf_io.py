# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""P2ILF contour files, rasterising and colour label images."""

import json

import cv2
from hypothesis import given, settings
from hypothesis import strategies as st
from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import COLOURS_RGB, Landmark
from liver_landmarks.p2ilf_io import Contour, P2ILFFormatError
from liver_landmarks_tools.support.data import P2ILF_SAMPLE
import numpy as np
import pytest
from scipy import ndimage

SAMPLE = P2ILF_SAMPLE
needs_sample = pytest.mark.skipif(not SAMPLE.is_dir(),
                                  reason=f'P2ILF sample data not found at {SAMPLE}')
GT_LABEL = SAMPLE / 'labels' / 'P2ILF22_patient1_12_GT.jpg'
XML = SAMPLE / 'annotations' / 'patient2_1.xml'
JSON_2D = SAMPLE / 'annotations' / 'patient2_1_2D-contours.json'
JSON_3D = SAMPLE / 'annotations' / 'patient2_1_3D-contours.json'


def component_count(mask):
    return ndimage.label(mask, structure=np.ones((3, 3)))[1]


@needs_sample
def test_sample_xml_and_json_hold_the_same_contours_and_rasterise_alike():
    from_xml = p2ilf_io.read_contours(XML)
    from_json = p2ilf_io.read_contours(JSON_2D)
    # The sample README: 2 ridges, 1 silhouette, 1 ligament, in this file order.
    assert [c.landmark for c in from_xml] == [
        Landmark.RIDGE, Landmark.SILHOUETTE, Landmark.RIDGE, Landmark.LIGAMENT]
    assert [c.landmark for c in from_json] == [c.landmark for c in from_xml]
    for a, b in zip(from_xml, from_json):
        assert a.points.dtype == np.float32 and a.points.shape[1] == 2
        np.testing.assert_array_equal(a.points, b.points)
    mask_xml = p2ilf_io.rasterise_contours(from_xml, 1920, 1080)
    mask_json = p2ilf_io.rasterise_contours(from_json, 1920, 1080)
    np.testing.assert_array_equal(mask_xml, mask_json)
    for landmark in (Landmark.RIDGE, Landmark.LIGAMENT, Landmark.SILHOUETTE):
        assert np.any(mask_xml == landmark)
    assert component_count(mask_xml == Landmark.RIDGE) == 2


@needs_sample
def test_sample_gt_colour_decoding_matches_the_readme_counts():
    ids = p2ilf_io.read_label_image(GT_LABEL)
    assert ids.shape == (1080, 1920) and ids.dtype == np.uint8
    expected = {Landmark.RIDGE: (14470, 2), Landmark.LIGAMENT: (6478, 1),
                Landmark.SILHOUETTE: (19285, 2)}
    for landmark, (pixels, components) in expected.items():
        mask = ids == landmark
        assert int(mask.sum()) == pixels, landmark
        assert component_count(mask) == components, landmark


@needs_sample
def test_3d_contour_json_is_refused_naming_the_file():
    with pytest.raises(P2ILFFormatError, match='patient2_1_3D-contours.json.*imagePoints'):
        p2ilf_io.read_contours(JSON_3D)


def test_json_round_trip_keeps_the_challenge_shape(tmp_path):
    contours = [Contour(Landmark.RIDGE, [(5, 925), (6, 924)]),
                Contour(Landmark.LIGAMENT, [(1871.0, 231.0), (1870.25, 232.5)]),
                Contour(Landmark.SILHOUETTE, [(0, 0)])]
    path = p2ilf_io.write_p2ilf_json(contours, tmp_path / 'out.json')
    document = json.loads(path.read_text())
    assert set(document) == {'numOfContours', 'contour'}
    assert document['numOfContours'] == 3
    assert document['contour'][0] == {'contourType': 'Ridge',
                                      'imagePoints': {'x': [5, 6], 'y': [925, 924]}}
    assert document['contour'][1]['contourType'] == 'Ligament'
    assert document['contour'][1]['imagePoints']['x'] == [1871.0, 1870.25]
    back = p2ilf_io.read_contours(path)
    assert [c.landmark for c in back] == [c.landmark for c in contours]
    for a, b in zip(back, contours):
        np.testing.assert_array_equal(a.points, b.points)


def test_xml_with_float_and_integer_points(tmp_path):
    path = tmp_path / 'a.xml'
    path.write_text(
        "<?xml version='1.0' encoding='utf-8'?>\n<contours><numOfContours>1</numOfContours>"
        '<contour><contourType>Ligament</contourType><imagePoints><numOfPoints>3'
        '</numOfPoints><x>1871.0, 1870, 1869.5</x><y>231, 232.0,233</y></imagePoints>'
        '<modelPoints><numOfPoints>1</numOfPoints><vertices>7</vertices></modelPoints>'
        '</contour></contours>')
    (contour,) = p2ilf_io.read_contours(path)
    assert contour.landmark == Landmark.LIGAMENT
    np.testing.assert_array_equal(contour.points, [[1871, 231], [1870, 232], [1869.5, 233]])


@pytest.mark.parametrize('name, text, message', [
    ('entity.xml', '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]>'
                   '<contours>&a;</contours>', 'DOCTYPE or ENTITY'),
    ('broken.xml', '<contours><contour>', 'not well-formed'),
    ('root.xml', '<annotation/>', 'expected P2ILF <contours>'),
    ('type.xml', '<contours><contour><contourType>Gallbladder</contourType><imagePoints>'
                 '<x>1</x><y>2</y></imagePoints></contour></contours>', 'Gallbladder'),
    ('lengths.xml', '<contours><contour><contourType>Ridge</contourType><imagePoints>'
                    '<x>1, 2</x><y>2</y></imagePoints></contour></contours>', '2 x but 1 y'),
    ('count.xml', '<contours><numOfContours>2</numOfContours><contour><contourType>Ridge'
                  '</contourType><imagePoints><x>1</x><y>2</y></imagePoints></contour>'
                  '</contours>', 'numOfContours says 2'),
    ('nan.json', '{"contour": [{"contourType": "Ridge", "imagePoints": {"x": [1], '
                 '"y": ["a"]}}]}', 'not a number'),
    ('list.json', '[1, 2]', 'expected a P2ILF 2D-contour object'),
    ('bad.json', '{"contour": [', 'not valid JSON'),
    ('points.txt', 'x y', 'unknown contour format'),
])
def test_malformed_contour_files_raise_one_line_naming_the_file(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(P2ILFFormatError) as error:
        p2ilf_io.read_contours(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)
    assert '\n' not in str(error.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(P2ILFFormatError, match='missing.json'):
        p2ilf_io.read_contours(tmp_path / 'missing.json')
    with pytest.raises(P2ILFFormatError, match='missing.png: no such file'):
        p2ilf_io.read_label_image(tmp_path / 'missing.png')


def test_rasterise_open_polyline_at_thickness_one():
    # An open L-shaped polyline: (0,1)->(3,1)->(3,3), the closing segment is not drawn.
    mask = p2ilf_io.rasterise_contours(
        [Contour(Landmark.SILHOUETTE, [(0, 1), (3, 1), (3, 3)])], width=5, height=4, thickness=1)
    expected = np.array([[0, 0, 0, 0, 0],
                         [3, 3, 3, 3, 0],
                         [0, 0, 0, 3, 0],
                         [0, 0, 0, 3, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(mask, expected)


def test_rasterised_horizontal_line_is_twelve_rows_thick_at_1080():
    mask = p2ilf_io.rasterise_contours([Contour(Landmark.RIDGE, [(100, 500), (300, 500)])],
                                       width=400, height=1080)
    rows = np.flatnonzero(mask[:, 200])
    # cv2's thick lines cover the centre row and about thickness/2 rows either side.
    assert 12 <= len(rows) <= 13
    assert rows.min() <= 500 <= rows.max()


def test_later_contours_paint_over_earlier_ones_and_empty_contours_draw_nothing():
    contours = [Contour(Landmark.RIDGE, [(0, 2), (4, 2)]),
                Contour(Landmark.LIGAMENT, [(2, 0), (2, 4)]),
                Contour(Landmark.SILHOUETTE, np.zeros((0, 2)))]
    mask = p2ilf_io.rasterise_contours(contours, 5, 5, thickness=1)
    assert mask[2, 2] == Landmark.LIGAMENT and mask[2, 0] == Landmark.RIDGE
    assert not np.any(mask == Landmark.SILHOUETTE)


def test_contours_from_polylines_orders_by_landmark_and_skips_empty():
    polylines = {Landmark.SILHOUETTE: [np.array([[1, 2]], np.float32)],
                 Landmark.RIDGE: [np.zeros((0, 2), np.float32),
                                  np.array([[3, 4], [5, 6]], np.float32)],
                 Landmark.LIGAMENT: []}
    contours = p2ilf_io.contours_from_polylines(polylines)
    assert [c.landmark for c in contours] == [Landmark.RIDGE, Landmark.SILHOUETTE]
    np.testing.assert_array_equal(contours[0].points, [[3, 4], [5, 6]])


def test_colour_decoding_thresholds_each_channel_at_128():
    pixels = {
        (255, 0, 0): Landmark.RIDGE, (129, 127, 127): Landmark.RIDGE,
        (0, 0, 255): Landmark.LIGAMENT, (100, 60, 200): Landmark.LIGAMENT,
        (255, 255, 0): Landmark.SILHOUETTE, (200, 200, 100): Landmark.SILHOUETTE,
        (128, 0, 0): Landmark.BACKGROUND,    # exactly 128 is neither on nor off
        (255, 128, 0): Landmark.BACKGROUND,
        (255, 255, 255): Landmark.BACKGROUND, (255, 0, 255): Landmark.BACKGROUND,
        (0, 255, 0): Landmark.BACKGROUND, (0, 0, 0): Landmark.BACKGROUND,
    }
    rgb = np.array([list(pixels)], dtype=np.uint8)
    np.testing.assert_array_equal(p2ilf_io.decode_colour_label(rgb)[0],
                                  [int(v) for v in pixels.values()])


def test_encode_then_decode_is_identity_and_uses_the_landmark_colours():
    ids = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    rgb = p2ilf_io.encode_colour_label(ids)
    assert tuple(rgb[1, 1]) == COLOURS_RGB[Landmark.SILHOUETTE]
    np.testing.assert_array_equal(p2ilf_io.decode_colour_label(rgb), ids)
    with pytest.raises(ValueError, match='id 7'):
        p2ilf_io.encode_colour_label(np.array([[7]], dtype=np.uint8))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=64))
def test_colour_and_id_png_round_trips(tmp_path_factory, values):
    ids = np.array(values, dtype=np.uint8).reshape(1, -1)
    directory = tmp_path_factory.mktemp('labels')
    colour = p2ilf_io.write_label_image(directory / 'colour.png', ids)
    plain = p2ilf_io.write_label_image(directory / 'ids.png', ids, colour=False)
    np.testing.assert_array_equal(p2ilf_io.read_label_image(colour), ids)
    np.testing.assert_array_equal(p2ilf_io.read_label_image(plain), ids)


def test_read_label_image_accepts_grey_ids_saved_as_colour_and_refuses_others(tmp_path):
    ids = np.array([[0, 1, 2, 3]], dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'grey3.png'), np.repeat(ids[..., None], 3, axis=2))
    np.testing.assert_array_equal(p2ilf_io.read_label_image(tmp_path / 'grey3.png'), ids)
    cv2.imwrite(str(tmp_path / 'grey.png'), np.array([[0, 9]], dtype=np.uint8))
    with pytest.raises(P2ILFFormatError, match='grey.png: single-channel.*up to 9'):
        p2ilf_io.read_label_image(tmp_path / 'grey.png')
    cv2.imwrite(str(tmp_path / 'deep.png'), np.array([[0, 1]], dtype=np.uint16))
    with pytest.raises(P2ILFFormatError, match='deep.png: uint16'):
        p2ilf_io.read_label_image(tmp_path / 'deep.png')
    (tmp_path / 'text.png').write_text('not an image')
    with pytest.raises(P2ILFFormatError, match='text.png: not a readable image'):
        p2ilf_io.read_label_image(tmp_path / 'text.png')
