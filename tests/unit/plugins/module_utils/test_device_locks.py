# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-device write locks (_device_locks) and the check that another job signed a CSR (signed_since_csr)."""

from __future__ import annotations

import threading

from ansible_collections.iotops.provisioning.plugins.module_utils._device_locks import DeviceLocks, account_name
from ansible_collections.iotops.provisioning.plugins.module_utils._nrfcloud_provisioning import signed_since_csr

SECRET = 'mock-api-key-not-for-a-directory-name'


def test_a_write_by_another_job_moves_the_generation(tmp_path):
    one, other = DeviceLocks('acct', str(tmp_path)), DeviceLocks('acct', str(tmp_path))
    seen = one.generation('device-1')
    assert seen == 0
    with other.writing('device-1', other.generation('device-1')) as written_meanwhile:
        assert written_meanwhile is False
    with one.writing('device-1', seen) as written_meanwhile:
        assert written_meanwhile is True  # read again before deciding
    assert one.generation('device-1') == 2 and one.generation('device-2') == 0


def test_the_lock_keeps_a_second_writer_out_until_the_first_is_done(tmp_path):
    locks = DeviceLocks('acct', str(tmp_path))
    inside, release, order = threading.Event(), threading.Event(), []

    def first():
        with locks.writing('device-1', 0):
            inside.set()
            release.wait(10)
            order.append('first done')

    def second():
        inside.wait(10)
        with locks.writing('device-1', 0) as written_meanwhile:
            order.append(('second in', written_meanwhile))
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(10)
    assert order == []  # the second writer waits while the first holds the lock
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ['first done', ('second in', True)]


def test_the_account_directory_does_not_name_the_key(tmp_path):
    name = account_name('https://api.example/v1', SECRET)
    assert SECRET not in name and len(name) == 24
    assert name != account_name('https://api.example/v1', SECRET + 'x')
    locks = DeviceLocks(name, str(tmp_path))
    with locks.writing('device-1', 0):
        pass
    assert not any(SECRET in str(path) for path in tmp_path.rglob('*'))


def command(kind, sec_tag=16842753):
    return {'request': {kind: {'secTag': sec_tag}}}


def test_signed_since_csr_reads_the_newest_csr_only():
    csr, cert, finished = command('certificateSigningRequest'), command('clientCertificate'), command('finished')
    assert signed_since_csr([]) is False
    assert signed_since_csr([csr]) is False
    assert signed_since_csr([csr, cert, finished]) is True
    assert signed_since_csr([csr, cert, finished, csr]) is False          # a rotation's new CSR, not signed yet
    assert signed_since_csr([csr, command('clientCertificate', 7)]) is False  # a certificate for another security tag
