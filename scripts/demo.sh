#!/usr/bin/env bash
# README command (a): set up .venv, then run segmentation_node on the demo recording over
# DDS kept on this host (replay + node + a recorder of its outputs) and write to the
# output folder (default out/demo):
#   overlay_strip.png      a few result overlays of the run, tiled
#   outputs_bag/           the node's outputs (and its input) as a rosbag2, mcap
#   latency_summary.txt    end-to-end latency through DDS, rates, drops, last diagnostics
#   latency_summary.json   the same, for scripts
#   node.log, recorder.log, replay.log
#
# Usage: ./scripts/demo.sh [--model CARD.json] [--out DIR] [--bag BAG] [--rate R]
# Model: --model, else $LIVER_LANDMARKS_MODEL, else the shipped models/*.json, else a
# randomly initialised network (a loud warning: its results are noise).
# Runs inside a fresh network namespace with only lo up where `unshare -n` works
# (LIVER_LANDMARKS_NO_NETNS=1: never); LIVER_LANDMARKS_SKIP_SETUP=1 skips scripts/setup.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

model=${LIVER_LANDMARKS_MODEL:-}
out=out/demo
bag=data/demo_bag
rate=1.0
while [ $# -gt 0 ]; do
    case "$1" in
        --model) model=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --bag) bag=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "${LIVER_LANDMARKS_DEMO_IN_NETNS:-}" ]; then
    if [ "${LIVER_LANDMARKS_SKIP_SETUP:-0}" != 1 ]; then  # 1: .venv is managed by hand
        ./scripts/setup.sh
    fi
    if [ "${LIVER_LANDMARKS_NO_NETNS:-0}" != 1 ] && unshare -n true 2>/dev/null; then
        export LIVER_LANDMARKS_DEMO_IN_NETNS=1
        exec unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' "$0" \
            --model "$model" --out "$out" --bag "$bag" --rate "$rate"
    fi
    echo "demo: unshare -n is not available; DDS stays on this host through the loopback profile"
fi

python="$root/.venv/bin/python"
# The loopback Fast DDS profile and discovery range, from the one place that defines them.
eval "$("$python" - <<'EOF'
import shlex
from liver_landmarks_tools.support.loopback import loopback_environment
for name, value in loopback_environment().items():
    print(f'export {name}={shlex.quote(value)}')
EOF
)"
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$((40 + $$ % 60))}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export PYTHONUNBUFFERED=1

rm -rf "$out/outputs_bag" "$out/overlay_strip.png" "$out"/latency_summary.*
mkdir -p "$out"

if [ -z "$model" ] && ! compgen -G 'models/*.json' >/dev/null; then
    model=$("$python" - "$out/random_model" <<'EOF'
import sys
from liver_landmarks_tools.support.models import make_random_model_artifact
print(make_random_model_artifact(sys.argv[1], architecture='unet', encoder='resnet34', seed=0))
EOF
)
    cat >&2 <<EOF

########################################################################################
#  WARNING: no trained model in models/ and no --model / LIVER_LANDMARKS_MODEL given.  #
#  The demo runs a RANDOMLY INITIALISED network: the pipeline, DDS and latency are    #
#  real, the segmentations are NOISE. Model used: $model
########################################################################################

EOF
fi
node_args=(--ros-args --params-file config/segment.yaml -p use_sim_time:=true
           -r image:=/camera/image)
if [ -n "$model" ]; then
    node_args+=(-p "model_card:=$(realpath "$model")")
fi

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

stop() {  # stop one of our background processes: SIGINT, then SIGTERM, then SIGKILL
    local pid=$1
    kill -INT "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -TERM "$pid" 2>/dev/null || return 0
    sleep 2
    kill -KILL "$pid" 2>/dev/null || true
}

echo "demo: starting segmentation_node (log: $out/node.log)"
"$python" -m liver_landmarks.ros.segmentation_node "${node_args[@]}" >"$out/node.log" 2>&1 &
node_pid=$!
pids+=("$node_pid")
# Stops by itself 4 s after the last frame's outputs; the duration is a safety net.
"$python" -m liver_landmarks.bag.recorder --out "$out/outputs_bag" --idle-exit 4 \
    --duration 240 >"$out/recorder.log" 2>&1 &
recorder_pid=$!
pids+=("$recorder_pid")

echo "demo: replaying $bag at rate $rate once the node and the recorder listen"
# Two subscribers on the image topic: the recorder and the node (once it is active).
if ! "$python" -m liver_landmarks bag replay "$bag" --rate "$rate" --wait-for-subscribers 180 \
        --min-subscribers 2 --delay 1 2>"$out/replay.log"; then
    echo "demo: replay failed; see $out/replay.log and $out/node.log" >&2
    exit 1
fi
if ! kill -0 "$node_pid" 2>/dev/null; then
    echo "demo: segmentation_node exited early; see $out/node.log" >&2
    tail -n 20 "$out/node.log" >&2
    exit 1
fi
wait "$recorder_pid" || true
stop "$node_pid"
wait "$node_pid" 2>/dev/null || true
trap - EXIT

echo
"$python" -m liver_landmarks bag report "$out/outputs_bag" --out "$out"
echo
echo "demo: results in $out/"
echo "  overlay strip:   $out/overlay_strip.png"
echo "  outputs bag:     $out/outputs_bag (python -m liver_landmarks bag info $out/outputs_bag)"
echo "  latency summary: $out/latency_summary.txt"
