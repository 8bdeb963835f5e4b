#!/usr/bin/env bash
# Run the test suite.
#
#   ./scripts/test.sh [PYTEST ARGS]                 the whole suite (test/ and training/tests/)
#                                                   in .venv on ROS 2 Kilted, launch tests included
#   ./scripts/test.sh --distro jazzy [PYTEST ARGS]  the ROS-facing tests in .venv-jazzy on
#                                                   ROS 2 Jazzy (the LTS); made on first use
#
# DDS stays on loopback: conftest.py sets the variables and the Fast DDS profile, and
# where `unshare -n` works the tests run in a fresh network namespace whose only
# interface is lo. The launch tests build the package with colcon into a temporary
# folder, so the checkout stays clean.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

distro=kilted
if [ "${1:-}" = --distro ]; then
    distro=${2:?"--distro needs a name: kilted or jazzy"}
    shift 2
fi

# --- distro environments (section owned by the launch/distro tests) -------------------
#: Tests that touch rclpy or ROS messages: what a second distro must pass.
ros_facing_tests() {
    local path
    for path in test/test_node_*.py test/test_bad_input_table.py test/test_faults.py \
                test/test_messages.py test/test_image_conversion.py test/test_bag_replay.py; do
        [ -f "$path" ] && echo "$path"
    done
}

#: Known Jazzy gap, open: on Jazzy (rclpy 7.1.6, Fast DDS 2.14) the node's default
#: best-effort image subscription loses most 1920x1080 frames (6 MB samples; the node's
#: diagnostics count them as never received); 640x480 frames arrive, and with
#: input_reliability reliable full-HD frames arrive too. Kilted passes all. Deselected,
#: and announced, so CI checks the rest until the node handles it.
jazzy_known_gaps=(
    "test/test_node_dds.py::test_every_output_matches_the_offline_pipeline[1920-1080-rgb8-0]"
    "test/test_node_dds.py::test_every_output_matches_the_offline_pipeline[1920-1080-bgr8-0]"
    "test/test_node_dds.py::test_every_output_matches_the_offline_pipeline[1920-1080-bgr8-64]"
    "test/test_node_dds.py::test_a_flood_processes_the_newest_frame_counts_drops_and_keeps_memory_flat"
)

setup_jazzy() {
    local venv="$root/.venv-jazzy" stamp="$root/.venv-jazzy/.installed-requirements" want
    want=$(cat requirements.txt requirements-jazzy.txt | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return
    fi
    echo "test: creating $venv with the ROS 2 Jazzy wheels (first run takes a few minutes)"
    [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
    # The non-ROS pins of requirements.txt: its runtime and test sections, without the
    # Kilted ros-* wheels, colcon and the training section.
    local pins="$venv/requirements-non-ros.txt"
    sed -n '1,/^# training subpackage/p' requirements.txt \
        | grep -v -E '^[[:space:]]*(#|$|ros-|colcon-)' > "$pins"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r requirements-jazzy.txt -r "$pins"
    echo "$want" > "$stamp"
}

case $distro in
    kilted)
        "$root/scripts/setup.sh"
        python="$root/.venv/bin/python"
        ;;
    jazzy)
        setup_jazzy
        python="$root/.venv-jazzy/bin/python"
        # The package runs from this checkout (the Kilted .venv holds the editable install).
        export PYTHONPATH="$root:$root/tools${PYTHONPATH:+:$PYTHONPATH}"
        # Without a test path among the arguments, run the ROS-facing tests with them.
        names_tests=0
        for argument in "$@"; do
            [ -e "${argument%%::*}" ] && names_tests=1
        done
        if [ "$names_tests" = 0 ]; then
            mapfile -t selected < <(ros_facing_tests)
            echo "test: jazzy: deselecting ${#jazzy_known_gaps[@]} known-failing full-HD DDS" \
                 "tests (scripts/test.sh, jazzy_known_gaps)"
            for gap in "${jazzy_known_gaps[@]}"; do
                selected+=(--deselect "$gap")
            done
            set -- "${selected[@]}" "$@"
        fi
        ;;
    *)
        echo "test: unknown distro '$distro': kilted (default, .venv) or jazzy (.venv-jazzy)" >&2
        exit 2
        ;;
esac
# --- end of the distro section ----------------------------------------------------------

pytest=("$python" -m pytest "$@")
if [ "${LIVER_LANDMARKS_NO_NETNS:-0}" != 1 ] && unshare -n true 2>/dev/null; then
    exec unshare -n bash -c 'ip link set lo up 2>/dev/null || true; exec "$@"' _ "${pytest[@]}"
fi
echo "test: unshare -n is not available; running on the host network with the loopback DDS profile"
exec "${pytest[@]}"
