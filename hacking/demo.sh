#!/usr/bin/env bash
# The demo (the README's first command): sets up .venv, starts the bundled mock of the four
# vendor clouds, onboards a batch of 50 factory-fresh devices with playbooks/onboard.yml as they
# come online (a first run leaves the devices not powered on yet waiting, a second run 20 minutes
# later completes them, a third changes nothing), rotates the certificates that expire within
# the window with playbooks/rotate_certificates.yml, prints where the reports are, and stops the mock.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
bash hacking/test-all.sh venv >/dev/null
exec "$ROOT/.venv/bin/python" playbooks/demo/run_demo.py "$@"
