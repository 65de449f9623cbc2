# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real ansible-playbook run for a host that is not the controller and cannot be reached, for the actions that work on the
controller: whatever connected to the host would fail the run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

MARK = 'REGISTERED='


@pytest.fixture(scope='module')
def play_for_a_far_host(collections_root):
    """``play(work, tasks, names)`` -> (the registered results by name, the run's output): runs ``tasks`` in ``work`` for a host
    at a documentation address (RFC 5737), to which a connection could only time out, then shows the results of ``names``."""
    def play(work, tasks, names):
        show = {'name': 'Show the registered results', 'ansible.builtin.debug': {
            'msg': MARK + '{{ dict(%s) | to_json }}' % ', '.join('%s=%s' % (name, name) for name in names)}}
        (work / 'play.yml').write_text(json.dumps([{'hosts': 'far-device', 'gather_facts': False, 'tasks': list(tasks) + [show]}]))
        (work / 'inventory.ini').write_text('far-device ansible_host=192.0.2.10 ansible_connection=ssh ansible_timeout=2 '
                                            'ansible_python_interpreter=/nonexistent/python\n')
        env = {name: value for name, value in os.environ.items() if not name.startswith('ANSIBLE_') and name != 'JOB_ID'}
        env.update(ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
                   ANSIBLE_HOME=str(work / 'home'), ANSIBLE_LOCAL_TEMP=str(work / 'tmp'))
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(work / 'inventory.ini'),
                   str(work / 'play.yml')]
        done = subprocess.run(command, env=env, cwd=str(work), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, text=True, timeout=120, check=False)
        found = re.search(r'"msg": "%s(.*)"\n' % MARK, done.stdout)
        assert done.returncode == 0 and found, done.stdout
        return json.loads(json.loads('"%s"' % found.group(1))), done.stdout
    return play
