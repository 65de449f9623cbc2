#!/usr/bin/env bash
# Makes .venv (Python 3.11+; $PYTHON chooses the interpreter) with requirements.txt and requirements-dev.txt, the
# mock of the four clouds (mock_cloud/) among them, and again only when one of them changed. The demo and the test
# command start with it; `bash hacking/venv.sh` alone sets up a machine for working by hand.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
VENV="$ROOT/.venv"
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ needed (set PYTHON)" >&2; exit 2; }
stamp="$VENV/.requirements.sha256"
want=$(cat requirements.txt requirements-dev.txt mock_cloud/pyproject.toml <("$python" --version) | sha256sum | cut -d' ' -f1)
if [[ -x "$VENV/bin/python" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    exit 0
fi
echo "making $(basename "$VENV") with $("$python" --version)"
"$python" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
echo "$want" >"$stamp"
