#!/usr/bin/env bash
# Run the whole test suite (pytest over test/ and training/tests/) in .venv.
# DDS stays on loopback: test/conftest.py sets the variables and the Fast DDS
# profile, and where `unshare -n` works the suite runs in a fresh network
# namespace whose only interface is lo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
pytest=("$root/.venv/bin/python" -m pytest "$@")
if [ "${LIVER_LANDMARKS_NO_NETNS:-0}" != 1 ] && unshare -n true 2>/dev/null; then
    exec unshare -n bash -c 'ip link set lo up 2>/dev/null || true; exec "$@"' _ "${pytest[@]}"
fi
echo "test: unshare -n is not available; running on the host network with the loopback DDS profile"
exec "${pytest[@]}"
