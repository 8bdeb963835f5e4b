# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""package.xml and the shipped XML files are well formed and follow package format 3.

ament_xmllint has no wheel on PyPI; the checks it makes that matter here are made
with the standard library.
"""

from pathlib import Path
import xml.etree.ElementTree as ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.linter
@pytest.mark.xmllint
@pytest.mark.parametrize(
    'path', sorted(ROOT.glob('*.xml')) + sorted((ROOT / 'config').glob('*.xml')),
    ids=lambda path: path.name)
def test_xml_well_formed(path):
    ElementTree.parse(path)


@pytest.mark.linter
def test_package_xml_format3():
    package = ElementTree.parse(ROOT / 'package.xml').getroot()
    assert package.get('format') == '3'
    assert package.findtext('name') == 'liver_landmarks'
    assert package.find('export/build_type').text == 'ament_python'
    depends = {element.text for element in package.findall('exec_depend')}
    assert {'rclpy', 'sensor_msgs', 'std_msgs', 'geometry_msgs', 'visualization_msgs',
            'diagnostic_msgs'} <= depends
