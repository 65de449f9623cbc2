# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test bootstraps pip into every virtual environment it creates by running
``~/.ansible/test/cache/get_pip_<version>.py`` (downloaded from a CI file server
when the file is missing) like this::

    python get_pip_<version>.py --disable-pip-version-check pip==<version> --no-setuptools --no-wheel

That server is unreachable from our build machines, so hacking/test-all.sh copies
this script to those cache paths.  It installs pip from the standard library's
``ensurepip`` and then lets that pip install the requested packages from the
package index configured on the machine.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

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


if __name__ == '__main__':
    main(sys.argv[1:])
