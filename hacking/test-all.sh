#!/usr/bin/env bash
# The project's one test command (the README's, and what .ci/run calls).
#
#   bash hacking/test-all.sh                  # every stage
#   bash hacking/test-all.sh unit molecule    # only these (plus the stages they need)
#
# Stages: venv, get-pip, unit, suites, benchmark (the factory-scale benchmark at N = 20 as a smoke
# test, no timing assertions), sanity, lint, molecule, molecule-tls (the Molecule
# suite again, over HTTPS), release (tarball, install, demo, docs, EE, AWX, older-core
# sanity).  Each one is timed, a summary table is printed at the end, and the script exits
# non-zero if any stage failed.
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
ALL_STAGES=(venv get-pip unit suites benchmark sanity lint molecule molecule-tls release)

# The Molecule scenarios find the mock server (mock_cloud/, `iotops-mock serve`) through this
# endpoints file (see extensions/molecule/mock_vars.yml); the default scenario starts the mock, which writes it.
export IOTOPS_MOCK_ENDPOINTS="$BUILD/mock/endpoints.json"

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
    [[ -f "$IOTOPS_MOCK_ENDPOINTS" ]] || return 0
    pid=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["pid"])' "$IOTOPS_MOCK_ENDPOINTS" 2>/dev/null) || pid=
    if [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] \
        && [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *iotops[_-]mock* ]]; then
        log "stopping the mock server left running (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$IOTOPS_MOCK_ENDPOINTS"
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
    python -m pytest tests/unit mock_cloud/tests -q
}

# The trust suites (tests/suites, see its README): the factory_onboarding role under faults, malformed
# input to every module, and a search for secrets in everything the modules and roles print or write.
# Each prints its table; docs/testing.md has the latest counts.
stage_suites() {
    python -m pytest tests/suites -q -s -p no:cacheprovider
}

# The factory-scale benchmark (benchmarks/factory_scale.py) at N = 20: every part runs once (the role and
# its no-op re-run, the uri baseline, the capacity load, the per-task overhead) and the no-op re-run
# must write nothing. A smoke test: the figures are measured with the full run, see docs/performance.md.
stage_benchmark() {
    python benchmarks/factory_scale.py --smoke
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
    mkdir -p "$(dirname "$IOTOPS_MOCK_ENDPOINTS")"
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

# The whole Molecule suite once more, with every module call over HTTPS: the mock's TLS
# listener presents a certificate of its private CA, and the modules trust that CA through
# their ca_path option, here its environment fallback IOTOPS_CA_PATH (as an AWX credential
# or an execution environment would set it). The CA is only made when the default scenario
# starts the mock, so its directory is chosen here (IOTOPS_MOCK_TLS_DIR, read by
# extensions/molecule/mock_vars.yml) and the default scenario checks that the two agree.
# The mock's admin API (/_mock) stays on plain HTTP. IOTOPS_MOLECULE_SCENARIOS applies too;
# IOTOPS_MOLECULE_TLS_SCENARIOS, if set, chooses the scenarios of this stage alone (e.g.
# "factory_onboarding ublox_token naocloud_trackable" where the whole suite takes too long).
stage_molecule_tls() {
    if [[ -n "${IOTOPS_MOLECULE_TLS_SCENARIOS:-}" ]]; then
        export IOTOPS_MOLECULE_SCENARIOS="$IOTOPS_MOLECULE_TLS_SCENARIOS"
    fi
    export IOTOPS_MOCK_TLS=1
    export IOTOPS_MOCK_TLS_DIR="$BUILD/mock-tls"
    export IOTOPS_CA_PATH="$IOTOPS_MOCK_TLS_DIR/mock-ca.pem"
    rm -rf "$IOTOPS_MOCK_TLS_DIR" "$BUILD/molecule"
    stage_molecule
}

# Release checks: what a user installs, and how, from the built tarball. Steps:
#   build       ansible-galaxy collection build from a copy that also holds the usual leftovers of a
#               work tree (.venv, tests/output, .demo, caches, ...): build_ignore must keep them out;
#               the tarball must have every source file, and key material only in the mock's test keys
#   install     the tarball into an empty path (--offline --no-deps), then collection verify
#   demo        playbooks/demo/run_demo.py of the INSTALLED collection, run with that collection
#   changelog   antsibull-changelog lint (fragments and changelog.yaml)
#   docs        antsibull-docs lint-collection-docs --plugin-docs
#   ee          ansible-builder create for an EE with the tarball, then the dependency step of the
#               build (galaxy install + ansible-builder's introspect) run here, without containers:
#               it must yield requirements.txt and bindep.txt, as meta/execution-environment.yml says
#   awx         awx.awx from the `ansible` package (unpacked into the build dir, not installed):
#               syntax check, and tests/unit/test_awx_credential_types.py, whose registration tests
#               run docs/awx/register_credential_types.yml against a stand-in controller
#   sanity-old  ansible-test sanity, all tests, with an older supported ansible-core in its own venv
RELEASE_OLD_CORE='ansible-core>=2.18,<2.19'
RELEASE_AWX_PACKAGE='ansible==12.3.0'   # bundles awx.awx 24.6.1
RELEASE_DEMO_DEVICES=20

release_step() {
    local name=$1 start
    shift
    start=$(date +%s)
    log ""
    log "--- release: $name"
    "$@"
    log "--- release: $name passed in $(fmt_time $(($(date +%s) - start)))"
}

release_build() {
    local src="$RELEASE/src/ansible_collections/iotops/provisioning" path target
    mkdir -p "$src" "$RELEASE/dist"
    src=$(cd "$src" && pwd -P)
    cp -a "$COLLECTION/." "$src/"
    for path in .venv/lib/x.py .build/mock/state.json tests/output/junit/x.xml .demo/factory-ca.key .ansible/x \
        .pytest_cache/v/x mock_cloud/.pytest_cache/v/x plugins/modules/__pycache__/x.cpython-311.pyc .cache/x \
        htmlcov/index.html .coverage iotops-provisioning-0.0.1.tar.gz tests/suites/x.py tests/unit/x.py extensions/x.yml; do
        # never through a symlink of the copy (a linked .venv would lead to a real interpreter), never over a file
        target=$(realpath -m "$src/$path")
        if [[ "$target" != "$src/"* || -e "$target" || -L "$target" ]]; then
            log "no left-over file at $path: it exists, or a symlink leads out of the copy"
            continue
        fi
        mkdir -p "$(dirname "$target")"
        printf 'left over\n' >"$target"
    done
    (cd "$src" && ansible-galaxy collection build --output-path "$RELEASE/dist")
    TARBALL=$(find "$RELEASE/dist" -name 'iotops-provisioning-*.tar.gz' -print -quit)
    python - "$TARBALL" "$COLLECTION" <<'PY'
import os
import re
import sys
import tarfile

tarball, collection = sys.argv[1:3]
with tarfile.open(tarball) as tar:
    names = tar.getnames()
    files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
problems = []
left_out_tops = {'.venv', '.build', '.demo', '.ansible', '.git', '.github', '.ci', '.cache', '.pytest_cache', '.coverage',
                 'htmlcov', 'extensions', 'hacking', 'benchmarks', 'requirements-dev.txt', 'mock_cloud', 'pytest.ini',
                 'noxfile.py', 'antsibull-nox.toml'}
left_out_dirs = ('tests/output', 'tests/unit', 'tests/suites')
for name in names:
    parts = name.split('/')
    if (parts[0] in left_out_tops or name.startswith(left_out_dirs) or '__pycache__' in parts or '.pytest_cache' in parts
            or name.endswith(('.pyc', '.tar.gz'))):
        problems.append('in the tarball, should not be: %s' % name)
for top in ('plugins', 'roles', 'playbooks', 'docs', 'meta', 'changelogs'):
    for dirpath, dirnames, filenames in os.walk(os.path.join(collection, top)):
        dirnames[:] = [d for d in dirnames if d not in ('__pycache__', '.pytest_cache', 'tests')]
        for filename in filenames:
            rel = os.path.relpath(os.path.join(dirpath, filename), collection)
            if rel not in files:
                problems.append('missing from the tarball: %s' % rel)
for rel in ('MANIFEST.json', 'FILES.json', 'README.md', 'LICENSE', 'requirements.txt', 'bindep.txt'):
    if rel not in files:
        problems.append('missing from the tarball: %s' % rel)
key = re.compile(rb'-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=]{40,}')
for name, data in sorted(files.items()):
    if key.search(data):
        problems.append('private key material in %s (the collection ships no key; the mock and its test keys are not shipped)' % name)
if problems:
    sys.exit('\n'.join(problems))
print('%s: %d files, %d kB; none of the left-overs (the mock among them), every source file, no private key'
      % (os.path.basename(tarball), len(files), os.path.getsize(tarball) // 1024))
PY
}

release_install() {
    INSTALLED="$RELEASE/installed"
    mkdir -p "$INSTALLED"
    # only this path: a copy installed elsewhere (~/.ansible/collections) must not count as "already installed"
    ANSIBLE_COLLECTIONS_PATH="$INSTALLED" ansible-galaxy collection install --offline --no-deps -p "$INSTALLED" "$TARBALL"
    ANSIBLE_COLLECTIONS_PATH="$INSTALLED" ansible-galaxy collection verify --offline -p "$INSTALLED" iotops.provisioning
}

release_demo() {
    python "$INSTALLED/ansible_collections/iotops/provisioning/playbooks/demo/run_demo.py" \
        --collections-path "$INSTALLED" --devices "$RELEASE_DEMO_DEVICES"
}

release_changelog() {
    (cd "$COLLECTION" && antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml)
}

release_docs() {
    (cd "$COLLECTION" && ANSIBLE_COLLECTIONS_PATH="$BUILD" \
        antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all .)
    log "antsibull-docs lint-collection-docs: no findings"
}

release_ee() {
    local ee="$RELEASE/ee" name
    name=$(basename "$TARBALL")
    mkdir -p "$ee"
    cp "$TARBALL" "$ee/"
    # An EE with this collection from its tarball. No image is built (no container runtime
    # needed), so the base image is only a placeholder name.
    printf '%s\n' '---' 'version: 3' 'images:' '  base_image:' '    name: ee-base:latest' 'dependencies:' \
        '  ansible_core:' '    package_pip: ansible-core>=2.16' '  ansible_runner:' '    package_pip: ansible-runner' \
        '  galaxy:' '    collections:' "      - name: collections/$name" '        type: file' \
        'additional_build_files:' "  - src: $name" '    dest: collections' >"$ee/execution-environment.yml"
    (cd "$ee" && ansible-builder create -f execution-environment.yml -c context --output-filename Containerfile)
    # The Containerfile's galaxy stage installs the collections, its builder stage runs
    # introspect.py over them to collect their Python and system requirements: do the same here.
    (cd "$ee/context/_build" && ANSIBLE_COLLECTIONS_PATH="$ee/collections" \
        ansible-galaxy collection install --offline -r requirements.yml --collections-path "$ee/collections")
    python "$ee/context/_build/scripts/introspect.py" introspect --write-pip="$ee/src/requirements.txt" \
        --write-bindep="$ee/src/bindep.txt" "$ee/collections" >/dev/null
    python - "$ee" "$COLLECTION" <<'PY'
import os
import sys

ee, collection = sys.argv[1:3]


def entries(path):
    """The requirement lines of a pip or bindep file, without comments."""
    with open(path, encoding='utf-8') as handle:
        return [line.split('#', 1)[0].strip() for line in handle if line.split('#', 1)[0].strip()]


with open(os.path.join(ee, 'context', 'Containerfile'), encoding='utf-8') as handle:
    containerfile = handle.read()
for step in ('ansible-galaxy collection install', 'introspect.py introspect', '/output/scripts/assemble'):
    assert step in containerfile, 'the Containerfile has no step %r' % step
with open(os.path.join(ee, 'context', '_build', 'requirements.yml'), encoding='utf-8') as handle:
    assert 'iotops-provisioning-' in handle.read()
python, system = entries(os.path.join(ee, 'src', 'requirements.txt')), entries(os.path.join(ee, 'src', 'bindep.txt'))
want_python, want_system = entries(os.path.join(collection, 'requirements.txt')), entries(os.path.join(collection, 'bindep.txt'))
assert {'requests', 'PyJWT', 'cryptography'} <= set(python), python
assert python == want_python, (python, want_python)
assert system == want_system, (system, want_system)
print('ansible-builder: Containerfile and _build/ made; the dependency step yields %s and %d bindep entries (%s)'
      % (', '.join(python), len(system), ', '.join(sorted(set(line.split()[0] for line in system)))))
PY
}

release_awx() {
    local awx="$RELEASE/awx"
    mkdir -p "$awx/download"
    python -m pip download --no-deps --quiet --dest "$awx/download" "$RELEASE_AWX_PACKAGE"
    python - "$awx" <<'PY'
import glob
import os
import sys
import zipfile

awx = sys.argv[1]
(wheel,) = glob.glob(os.path.join(awx, 'download', 'ansible-*.whl'))
with zipfile.ZipFile(wheel) as archive:
    members = [name for name in archive.namelist() if name.startswith('ansible_collections/awx/awx/')]
    archive.extractall(awx, members)
print('awx.awx unpacked from %s (%d files)' % (os.path.basename(wheel), len(members)))
PY
    rm -rf "$awx/download"
    ANSIBLE_COLLECTIONS_PATH="$awx" ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
        ansible-playbook --syntax-check docs/awx/register_credential_types.yml
    IOTOPS_AWX_COLLECTIONS_PATH="$awx" python -m pytest tests/unit/test_awx_credential_types.py -q -p no:cacheprovider
}

# Runs "$@" with the venv of the older ansible-core first on PATH.
with_old_core() {
    local PATH="$RELEASE/core-old/bin:$PATH" VIRTUAL_ENV="$RELEASE/core-old"
    export PATH VIRTUAL_ENV
    "$@"
}

release_sanity_old() {
    local venv="$RELEASE/core-old" version
    "$(base_python)" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "$RELEASE_OLD_CORE"
    version=$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
    log "ansible-core $version in $venv"
    # the get-pip shim under the name(s) this ansible-test asks for
    with_old_core stage_get_pip
    sync_collection_copy
    (cd "$COLLECTION" && with_old_core ansible-test sanity --local --python "$(venv_python_version)" --requirements)
}

stage_release() {
    RELEASE="$BUILD/release"
    rm -rf "$RELEASE"
    mkdir -p "$RELEASE"
    sync_collection_copy
    release_step build release_build
    release_step install release_install
    release_step demo release_demo
    release_step changelog release_changelog
    release_step docs release_docs
    release_step ee release_ee
    release_step awx release_awx
    release_step sanity-old release_sanity_old
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
printf '%-13s %-18s %s\n' stage result time
for i in "${!RESULT_NAMES[@]}"; do
    printf '%-13s %-18s %s\n' "${RESULT_NAMES[$i]}" "${RESULT_STATES[$i]}" "$(fmt_time "${RESULT_TIMES[$i]}")"
done
printf '%-13s %-18s %s\n' total "" "$(fmt_time "$total")"
if ((skipped > 0)); then
    log "test-all: $passed passed, $failed failed, $skipped skipped"
else
    log "test-all: $passed passed, $failed failed"
fi
((failed == 0))
