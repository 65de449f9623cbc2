#!/usr/bin/env bash
# The demo (the README's first command): sets up .venv (with the mock of the four vendor clouds,
# the package in mock_cloud/, which requirements-dev.txt installs), starts the mock, onboards a
# batch of 50 factory-fresh devices with playbooks/onboard.yml as they come online (a first run
# leaves the devices not powered on yet waiting, a second run 20 minutes later completes them, a
# third changes nothing), rotates the certificates that expire within the window with
# playbooks/rotate_certificates.yml, prints where the reports are, and stops the mock.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
bash hacking/venv.sh
exec "$ROOT/.venv/bin/python" playbooks/demo/run_demo.py "$@"
