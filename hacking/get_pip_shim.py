# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test bootstraps pip into every virtual environment it creates by running
``~/.ansible/test/cache/get_pip_<version>.py`` (downloaded from a CI file server
when the file is missing) like this::

    python get_pip_<version>.py --disable-pip-version-check pip==<version> --no-setuptools --no-wheel

That server is unreachable from our build machines, so each sanity session of
noxfile.py runs ``python get_pip_shim.py --install-for-ansible-test`` with the
ansible-test it is about to use: that copies this script to those cache paths and
checks that it bootstraps a pip-less virtualenv the way ansible-test does.  It installs pip from the standard library's
``ensurepip`` and then lets that pip install the requested packages from the
package index configured on the machine.
"""

from __future__ import annotations

import importlib.metadata
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import types

NO_FLAGS = {'--no-setuptools': 'setuptools', '--no-wheel': 'wheel'}


def installed(name: str) -> bool:
    """Return True if the distribution is installed in this interpreter's environment."""
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def pip(*args: str, env: dict[str, str]) -> None:
    """Run pip of this interpreter, stop with its exit code when it fails."""
    result = subprocess.run([sys.executable, '-m', 'pip', *args], env=env, check=False)
    if result.returncode:
        sys.exit(result.returncode)


def main(argv: list[str]) -> None:
    """Bootstrap pip, install the requested packages, honour --no-setuptools/--no-wheel."""
    unwanted = [NO_FLAGS[arg] for arg in argv if arg in NO_FLAGS]
    pip_args = [arg for arg in argv if arg not in NO_FLAGS]
    preinstalled = {name for name in unwanted if installed(name)}

    # ensurepip removes every PIP_* variable and points PIP_CONFIG_FILE at the null
    # device *in this process*; that would hide the machine's pip configuration
    # (index, certificate bundle) from the pip we run next, so keep a copy.
    saved_env = dict(os.environ)

    import ensurepip  # pylint: disable=import-outside-toplevel

    ensurepip.bootstrap(upgrade=True)

    env = saved_env
    os.environ.clear()
    os.environ.update(env)

    pip('install', *pip_args, env=env)

    # ensurepip of Python < 3.12 also installs setuptools; get-pip would not have.
    leftovers = [name for name in unwanted if name not in preinstalled and installed(name)]
    if leftovers:
        pip('uninstall', '--yes', '--disable-pip-version-check', *leftovers, env=env)


def pip_versions() -> set[str]:
    """The pip versions the ansible-test of this interpreter bootstraps (one per supported Python)."""
    # pylint: disable=import-outside-toplevel,import-error
    from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS
    from ansible_test._internal.python_requirements import get_venv_packages

    return {get_venv_packages(types.SimpleNamespace(version=v))['pip'] for v in SUPPORTED_PYTHON_VERSIONS}


def install_for_ansible_test() -> None:
    """Copy this script into ansible-test's cache under every name it asks for, then self-test each copy."""
    cache = os.path.join(os.path.expanduser('~'), '.ansible', 'test', 'cache')
    os.makedirs(cache, exist_ok=True)
    for version in sorted(pip_versions()):
        target = os.path.join(cache, 'get_pip_%s.py' % version.replace('.', '_'))
        if not (os.path.exists(target) and filecmp.cmp(__file__, target, shallow=False)):
            shutil.copyfile(__file__, target)
        with tempfile.TemporaryDirectory(prefix='iotops-get-pip-') as scratch:
            subprocess.run([sys.executable, '-m', 'venv', '--without-pip', scratch], check=True)
            python = os.path.join(scratch, 'bin', 'python')
            subprocess.run([python, target, '--disable-pip-version-check', 'pip==%s' % version, '--no-setuptools', '--no-wheel'],
                           check=True, capture_output=True)
            got = subprocess.run([python, '-m', 'pip', '--version'], check=True, capture_output=True, text=True).stdout
        if not got.startswith('pip %s ' % version):
            sys.exit('the get-pip shim did not install pip %s: %s' % (version, got))
        print('get_pip_%s.py in place; self-test: a pip-less virtualenv now has pip %s' % (version.replace('.', '_'), version))


if __name__ == '__main__':
    if sys.argv[1:] == ['--install-for-ansible-test']:
        install_for_ansible_test()
    else:
        main(sys.argv[1:])
