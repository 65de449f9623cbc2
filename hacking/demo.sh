#!/usr/bin/env bash
# The demo (the README's first command): sets up .venv, starts the bundled mock of the four
# vendor clouds, onboards a sample batch of 50 devices with playbooks/onboard.yml, runs it again
# to show it changes nothing, rotates the certificates that expire within the window with
# playbooks/rotate_certificates.yml, prints where the reports are, and stops the mock.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
bash hacking/test-all.sh venv >/dev/null
exec "$ROOT/.venv/bin/python" playbooks/demo/run_demo.py "$@"
