#!/usr/bin/env bash
# The project's one test command (the README's, and what .ci/run calls):
#
#   bash hacking/test-all.sh                    # every session
#   bash hacking/test-all.sh unit molecule      # only these sessions (names or tags, see `nox -l`)
#
# It makes .venv (hacking/venv.sh: requirements.txt and requirements-dev.txt, again only when they changed), then runs the nox
# sessions of noxfile.py and antsibull-nox.toml two at a time (IOTOPS_TEST_SLOTS changes it), the longest first by
# their measured durations, each line of output prefixed with its session, and ends with what failed sessions'
# logs say about their failures, the table of sessions and `test-all: N passed, N failed`. A session that skips
# counts as failed unless noxfile.py lists it with a reason.
# It needs nothing from the network but the package index.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
VENV="$ROOT/.venv"
REPORTS=$(mktemp -d "${TMPDIR:-/tmp}/iotops-test.XXXXXX")
trap 'rm -rf "$REPORTS"' EXIT

bash hacking/venv.sh
export VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" PIP_DISABLE_PIP_VERSION_CHECK=1
unset PYTHONHOME
[[ -t 1 ]] || export NO_COLOR=1 PY_COLORS=0 ANSIBLE_NOCOLOR=1   # a log file or CI: no colour codes

sessions=$(python noxfile.py select "$@")
started=$(date +%s)
# shellcheck disable=SC2086  # one word per session
python -u noxfile.py run "$REPORTS" $sessions
python noxfile.py summary "$sessions" $(($(date +%s) - started)) "$REPORTS"
