#!/usr/bin/env bash
# The project's one test command (the README's, and what .ci/run calls).
#
#   bash hacking/test-all.sh                  # every stage
#   bash hacking/test-all.sh unit molecule    # only these (plus the stages they need)
#
# Stages: venv, get-pip, unit, sanity, lint, molecule.  Each one is timed, a summary
# table is printed at the end, and the script exits non-zero if any stage failed.
# It needs nothing from the network but the package index (for the virtualenv and
# for ansible-test's own sanity virtualenvs).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

VENV="$ROOT/.venv"
# The collection is tested from a copy at $BUILD/ansible_collections/iotops/provisioning.
# $BUILD must lie outside this git work tree: ansible-test looks for .git upwards from
# the collection and would then see only the files git tracks there, i.e. none.
BUILD=$(mktemp -d "${TMPDIR:-/tmp}/iotops-test.XXXXXX")
COLLECTION="$BUILD/ansible_collections/iotops/provisioning"
REQUIREMENTS=(requirements.txt requirements-dev.txt)
ALL_STAGES=(venv get-pip unit sanity lint molecule)

# The Molecule scenarios find the mock server through this file (see
# extensions/molecule/mock_vars.yml); the default scenario writes it.
export IOTOPS_MOCK_STATE="$BUILD/mock/state.json"

export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"
unset PYTHONHOME
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [[ ! -t 1 ]]; then
    # a log file or CI: no colour codes (some tools colour even when not on a terminal)
    export NO_COLOR=1 PY_COLORS=0 ANSIBLE_NOCOLOR=1
fi

log() { printf '%s\n' "$*"; }

cleanup() {
    stop_leftover_mock || true
    rm -rf "$BUILD"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------------------- helpers

base_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    log "no Python 3.11+ found (tried \$PYTHON, python3.11, python3)" >&2
    return 1
}

requirements_hash() {
    local python=$1 file
    {
        "$python" -c 'import sys; print(sys.version)'
        for file in "${REQUIREMENTS[@]}"; do
            [[ -f "$file" ]] && sha256sum "$file"
        done
    } | sha256sum | cut -d' ' -f1
}

venv_python_version() {
    python -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# Copy the collection to $COLLECTION: ansible-test wants it at
# .../ansible_collections/<namespace>/<name> as a real directory (a symlink is refused),
# and Molecule's playbooks load it from there through ANSIBLE_COLLECTIONS_PATH.
# In a git work tree the copy is what git would commit (tracked and untracked files,
# minus the ignored ones); elsewhere the usual build and cache directories are left out.
sync_collection_copy() {
    rm -rf "$COLLECTION"
    mkdir -p "$COLLECTION"
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' path; do
                if [[ -e "$path" || -L "$path" ]]; then printf '%s\0' "$path"; fi
            done \
            | tar -C "$ROOT" --null --no-recursion -T - -cf - \
            | tar -C "$COLLECTION" -xf -
    else
        tar -C "$ROOT" \
            --exclude=./.git --exclude=./.venv --exclude=./.build --exclude=./.ansible \
            --exclude=./tests/output --exclude=__pycache__ --exclude=.pytest_cache \
            -cf - . | tar -C "$COLLECTION" -xf -
    fi
    [[ -f "$COLLECTION/galaxy.yml" ]] || { log "the copy at $COLLECTION has no galaxy.yml"; return 1; }
    log "collection copied to $COLLECTION"
}

# Stop a mock server that a broken Molecule run left behind: only the process whose
# id the default scenario recorded, and only if it still is our mock server.
stop_leftover_mock() {
    local pid
    [[ -f "$IOTOPS_MOCK_STATE" ]] || return 0
    pid=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["pid"])' "$IOTOPS_MOCK_STATE" 2>/dev/null) || pid=
    if [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] \
        && [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *mock_server* ]]; then
        log "stopping the mock server left running (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$IOTOPS_MOCK_STATE"
}

# --------------------------------------------------------------------------- stages

stage_venv() {
    local python stamp want
    python=$(base_python)
    stamp="$VENV/.requirements.sha256"
    if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
        log "creating $(basename "$VENV") with $python ($("$python" --version 2>&1))"
        rm -rf "$VENV"
        "$python" -m venv "$VENV"
    fi
    want=$(requirements_hash "$VENV/bin/python")
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        log "$(basename "$VENV") is up to date with ${REQUIREMENTS[*]}"
    else
        local args=() file
        for file in "${REQUIREMENTS[@]}"; do
            if [[ -f "$file" ]]; then args+=(-r "$file"); else log "warning: $file is missing"; fi
        done
        "$VENV/bin/python" -m pip install --upgrade pip
        "$VENV/bin/python" -m pip install "${args[@]}"
        printf '%s\n' "$want" >"$stamp"
    fi
    python - <<'PY'
import sys
from importlib.metadata import version
tools = ('ansible-core', 'ansible-lint', 'molecule', 'pytest')
print('Python %d.%d.%d, ' % sys.version_info[:3] + ', '.join('%s %s' % (name, version(name)) for name in tools))
PY
}

# ansible-test bootstraps pip in each virtualenv it creates with a get-pip script that it
# downloads from a server these machines cannot reach, unless the script is already in its
# cache.  Put our own (hacking/get_pip_shim.py) there under the names this ansible-test
# asks for, then check it bootstraps a pip-less virtualenv the way ansible-test does.
stage_get_pip() {
    local cache="$HOME/.ansible/test/cache" shim="$ROOT/hacking/get_pip_shim.py" versions version target scratch
    versions=$(python - <<'PY'
import types
from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS
from ansible_test._internal.python_requirements import get_venv_packages
found = {get_venv_packages(types.SimpleNamespace(version=v))['pip'] for v in SUPPORTED_PYTHON_VERSIONS}
print('\n'.join(sorted(found)))
PY
)
    [[ -n "$versions" ]] || { log "could not read the pip version(s) from ansible-test"; return 1; }
    mkdir -p "$cache"
    scratch=$(mktemp -d)
    # shellcheck disable=SC2064  # expand now: the trap runs after this function returned
    trap "rm -rf '$scratch'" EXIT
    for version in $versions; do
        target="$cache/get_pip_${version//./_}.py"
        if cmp -s "$shim" "$target"; then
            log "get_pip_${version//./_}.py is in place (pip $version)"
        else
            cp "$shim" "$target"
            log "installed the get-pip shim as ${target/#"$HOME"/\~} (pip $version)"
        fi
        python -m venv --without-pip "$scratch/venv-$version"
        "$scratch/venv-$version/bin/python" "$target" --disable-pip-version-check "pip==$version" --no-setuptools --no-wheel >"$scratch/log" 2>&1 \
            || { cat "$scratch/log"; return 1; }
        [[ "$("$scratch/venv-$version/bin/python" -m pip --version)" == "pip $version "* ]] \
            || { log "the shim did not install pip $version"; return 1; }
        log "self-test: a pip-less virtualenv now has pip $version"
    done
}

stage_unit() {
    if [[ ! -d tests/unit || -z "$(find tests/unit -type f \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit)" ]]; then
        log "SKIPPED: no test files (test_*.py) under tests/unit yet"
        return 77
    fi
    # the unit tests of the collection, and the mock server's own tests (the mock is a contract too)
    python -m pytest tests/unit tests/mock_server/tests -q
}

stage_sanity() {
    local python_version
    python_version=$(venv_python_version)
    sync_collection_copy
    cd "$COLLECTION"
    ansible-test sanity --local --python "$python_version" --requirements
}

stage_lint() {
    ansible-lint
}

stage_molecule() {
    stop_leftover_mock
    sync_collection_copy
    mkdir -p "$(dirname "$IOTOPS_MOCK_STATE")"
    # Molecule's playbooks find this collection through ANSIBLE_COLLECTIONS_PATH.
    export ANSIBLE_COLLECTIONS_PATH="$BUILD"
    # Molecule's state (created, prepared, ...) is otherwise kept per project *name* under
    # ~/.ansible/tmp, shared with every other run in a checkout of that name and left
    # over by interrupted runs (then it skips create: "instances already created").
    export MOLECULE_EPHEMERAL_DIRECTORY="$BUILD/molecule"
    export MOLECULE_GLOB="extensions/molecule/**/molecule.yml"
    local rc=0
    if [[ -n "${IOTOPS_MOLECULE_SCENARIOS:-}" ]]; then
        # a subset for development, e.g. IOTOPS_MOLECULE_SCENARIOS="nrfcloud_provisioning ublox_token"
        local -a selection=(-s default)
        local scenario
        for scenario in $IOTOPS_MOLECULE_SCENARIOS; do selection+=(-s "$scenario"); done
        molecule test "${selection[@]}" || rc=$?
    else
        molecule test --all || rc=$?
    fi
    stop_leftover_mock
    return "$rc"
}

# --------------------------------------------------------------------------- runner

declare -a RESULT_NAMES=() RESULT_STATES=() RESULT_TIMES=()
passed=0 failed=0 skipped=0

fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

record() {
    RESULT_NAMES+=("$1") RESULT_STATES+=("$2") RESULT_TIMES+=("$3")
    case $2 in
        passed) passed=$((passed + 1)) ;;
        skipped) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)) ;;
    esac
}

# Runs stage_<name> in a subshell with errexit on, records the outcome, sets $stage_rc.
# Never call it from a condition (if, ||, &&): bash would then ignore errexit in the
# stage, even where the stage turns it on again.
run_stage() {
    local name=$1 start rc elapsed
    log ""
    log "=== [$name] $(date '+%H:%M:%S') ==="
    start=$(date +%s)
    set +e
    (
        set -e
        "stage_${name//-/_}"
    ) </dev/null
    rc=$?
    set -e
    elapsed=$(($(date +%s) - start))
    case $rc in
        0) record "$name" passed "$elapsed" ;;
        77) record "$name" skipped "$elapsed" ;;
        *) record "$name" "failed (exit $rc)" "$elapsed" ;;
    esac
    log "=== [$name] ${RESULT_STATES[-1]} in $(fmt_time "$elapsed") ==="
    stage_rc=$rc
}

selected=("$@")
if ((${#selected[@]} == 0)); then
    selected=("${ALL_STAGES[@]}")
fi
for stage in "${selected[@]}"; do
    [[ " ${ALL_STAGES[*]} " == *" $stage "* ]] || { log "unknown stage '$stage' (stages: ${ALL_STAGES[*]})" >&2; exit 2; }
done
wanted() {
    local stage
    for stage in "${selected[@]}"; do
        [[ "$stage" == "$1" ]] && return 0
        # ansible-test sanity needs the get-pip shim; everything needs the venv
        [[ "$1" == venv || ("$1" == get-pip && "$stage" == sanity) ]] && return 0
    done
    return 1
}

total_start=$(date +%s)
venv_ok=true get_pip_ok=true
for stage in "${ALL_STAGES[@]}"; do
    wanted "$stage" || continue
    if [[ "$stage" != venv ]] && ! $venv_ok; then
        log ""
        log "=== [$stage] not run: the venv stage failed ==="
        record "$stage" "failed (not run)" 0
        continue
    fi
    if [[ "$stage" == sanity ]] && ! $get_pip_ok; then
        log ""
        log "=== [$stage] not run: the get-pip stage failed ==="
        record "$stage" "failed (not run)" 0
        continue
    fi
    run_stage "$stage"
    if [[ $stage_rc -ne 0 && $stage_rc -ne 77 ]]; then
        case $stage in
            venv) venv_ok=false ;;
            get-pip) get_pip_ok=false ;;
        esac
    fi
done
total=$(($(date +%s) - total_start))

log ""
log "=== summary ==="
printf '%-10s %-18s %s\n' stage result time
for i in "${!RESULT_NAMES[@]}"; do
    printf '%-10s %-18s %s\n' "${RESULT_NAMES[$i]}" "${RESULT_STATES[$i]}" "$(fmt_time "${RESULT_TIMES[$i]}")"
done
printf '%-10s %-18s %s\n' total "" "$(fmt_time "$total")"
if ((skipped > 0)); then
    log "test-all: $passed passed, $failed failed, $skipped skipped"
else
    log "test-all: $passed passed, $failed failed"
fi
((failed == 0))
