# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""ament_python build of liver_landmarks; also installs with plain pip."""

from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'liver_landmarks'


def _data(folder, pattern='*'):
    return (os.path.join('share', package_name, folder),
            [path for path in glob(os.path.join(folder, pattern)) if os.path.isfile(path)])


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(include=[package_name, package_name + '.*']),
    package_data={package_name: ['schemas/*.json']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        _data('launch', '*.launch.py'),
        _data('config'),
        _data('models'),
        _data('data/demo_bag'),
    ],
    # Runtime libraries are pinned in requirements.txt and installed by
    # scripts/setup.sh (or by rosdep/pip on a ROS 2 install); listing them here
    # would make colcon's setup.py step try to resolve torch.
    install_requires=['setuptools'],
    # Declaring pytest as the test runner makes `colcon test` run the suite with pytest
    # (and write the junit results `colcon test-result` counts); without it colcon
    # falls back to unittest, which finds no tests. Pinned in requirements.txt.
    extras_require={'test': ['pytest', 'pytest-timeout', 'hypothesis']},
    zip_safe=True,
    maintainer='liver_landmarks maintainers',
    maintainer_email='maintainers@liver-landmarks.invalid',
    description='Liver landmark segmentation and post-processing for 3D-2D registration.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'segmentation_node = liver_landmarks.ros.segmentation_node:main',
            'liver_landmarks = liver_landmarks.cli:main',
        ],
    },
)
