#!/usr/bin/env bash
# Create .venv and install liver_landmarks with every pinned dependency.
# Idempotent: a second run checks the pins and returns in seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
venv="$root/.venv"
stamp="$venv/.installed-requirements"
# ROS 2 launch system + ros2 CLI wheels (no registry has them); optional.
launch_wheels="$root/../shared/wheels/ros2_launch_cli"

if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating $venv"
    "$python" -m venv "$venv"
fi
want=$( { cat requirements.txt requirements-launch.txt setup.py training/pyproject.toml \
             tools/pyproject.toml 2>/dev/null || true; ls "$launch_wheels" 2>/dev/null || true; } \
         | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup: $venv is up to date"
    exit 0
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
echo "setup: installing pinned requirements (first run takes a few minutes)"
"$venv/bin/python" -m pip install --quiet -r requirements.txt
# --- launch system and ros2 CLI (section owned by the launch tests) ------------------
if [ -d "$launch_wheels" ]; then
    echo "setup: installing the ROS 2 launch system and ros2 CLI from $launch_wheels"
    "$venv/bin/python" -m pip install --quiet --find-links "$launch_wheels" \
        -r requirements-launch.txt
else
    echo "setup: no $launch_wheels: the launch tests will skip"
fi
# --- end of the launch section --------------------------------------------------------
"$venv/bin/python" -m pip install --quiet --no-deps -e .
if [ -f training/pyproject.toml ]; then
    "$venv/bin/python" -m pip install --quiet --no-deps -e training
fi
"$venv/bin/python" -m pip install --quiet --no-deps -e tools
echo "$want" > "$stamp"
echo "setup: done; activate with: source .venv/bin/activate"
