# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long batch_report takes to build the report of a large batch, and how big the files are.

    .venv/bin/python benchmarks/report_scale.py [--devices 5000] [--repeat 3]

Two reports, each built --repeat times by the module's main() in a fresh Python process (the time is main() alone, not
the interpreter's start): a factory batch (four clouds, five steps, 1 % failed, 3 % waiting) and a certificate rotation
(nRF Cloud and u-blox, 10 % of the fleet in the window). The unit tests check what these reports hold at 5,000
devices; how quickly they are built is measured here (the reference: under 10 s for the batch, under 5 s for the
rotation, on 2 cores). A measurement, not a test: nothing is asserted; it exits 1 only when a report failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAY = 86400

# runs in the child process: the collection is importable there through PYTHONPATH (a link in a temporary directory)
DRIVER = '''
import contextlib, io, json, sys, time
from ansible.module_utils.testing import patch_module_args
from ansible_collections.iotops.provisioning.plugins.modules import batch_report
with open(sys.argv[1], encoding='utf-8') as handle:
    args = json.load(handle)
printed = io.StringIO()
started = time.perf_counter()
with patch_module_args(args), contextlib.redirect_stdout(printed):
    try:
        batch_report.main()
    except SystemExit:
        pass
seconds = time.perf_counter() - started
text = printed.getvalue()
result = json.loads(text[text.index('{'):])
print(json.dumps(dict(seconds=seconds, failed=bool(result.get('failed')), msg=result.get('msg'),
                      html=result.get('html_path'), json=result.get('json_path'))))
'''


def outcome(item, phase, changed=True, waiting=False, **extra):
    return dict(item=item, changed=changed, failed=False, phase=phase, waiting=waiting, **extra)


def batch_args(devices):
    """A factory batch over four clouds and five steps, as the factory_onboarding role hands it over."""
    clouds = ('nrfcloud', 'ublox', 'iotcomms', 'naocloud')
    serials = dict((cloud, dict(('%s-%d' % (cloud, i), 'SN-2026-47-%05d' % i) for i in range(devices))) for cloud in clouds)

    def nrf(i):
        if i % 100 == 0:
            return dict(item='nrfcloud-%d' % i, changed=False, failed=True, phase='needs attention', waiting=False,
                        msg='the device ran "Generate key pair" and reported ERROR: modem error -8 (key generation failed)')
        if i % 25 == 0:
            return outcome('nrfcloud-%d' % i, 'waiting for the device', waiting=True)
        return outcome('nrfcloud-%d' % i, 'onboarded')

    steps = [dict(vendor='ublox', step='whitelist', results=[outcome('ublox-%d' % i, 'whitelisted') for i in range(devices)]),
             dict(vendor='iotcomms', step='SIP devices', results=[outcome('iotcomms-%d' % i, 'created') for i in range(devices)]),
             dict(vendor='naocloud', step='tracking tags', results=[outcome('naocloud-%d' % i, 'registered') for i in range(devices)]),
             dict(vendor='nrfcloud', step='claim and provision', results=[nrf(i) for i in range(devices)]),
             dict(vendor='ublox', step='devices that bootstrapped', results=[outcome('ublox-%d' % i, 'features applied') for i in range(devices)])]
    return dict(name='onboarding-b47', title='Factory onboarding', batch='b47', steps=steps, serials=serials, done_word='onboarded')


def rotation_args(devices):
    """A daily certificate rotation: 10 % of the fleet in the 30-day window, the rest counted outside it."""
    now = time.time()

    def stamp(epoch):
        return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))

    nrf, ublox, serials = [], [], dict(nrfcloud={}, ublox={})
    for i in range(devices):
        serial, nrf_id, rot = 'SN-2026-%05d' % i, 'nrf-3526561%08d' % i, '0002%012x' % (0xA10000 + i)
        serials['nrfcloud'][nrf_id] = serials['ublox'][rot] = serial
        soon, later = stamp(now + (3 + i % 20) * DAY), stamp(now + (40 + i % 300) * DAY)
        if i % 10:
            nrf.append(dict(item=nrf_id, changed=False, failed=False, phase='provisioned', waiting=False, policy='renew', due=False,
                            old_expiry=later, reason='expires on %s, after the 30-day window' % later[:10]))
            ublox.append(dict(item=rot, changed=False, failed=False, status='done', due=False, old_expiry=later, policy='renew',
                              reason='expires in %d days, not within 30' % (40 + i % 300)))
            continue
        nrf.append(dict(item=nrf_id, changed=True, failed=False, phase='provisioned', waiting=False, policy='renew', due=True,
                        old_expiry=soon, new_expiry=stamp(now + (368 + i % 20) * DAY)))
        if i % 100 == 0:
            ublox.append(dict(item=rot, changed=False, failed=True, status='failed', due=True, old_expiry=soon, policy='renew',
                              msg='ublox POST /v1/device/certificate/renew failed: HTTP 409: code 4091: device %s has a pending DELETE' % rot))
        else:
            ublox.append(dict(item=rot, changed=True, failed=False, status='acted', due=True, old_expiry=soon, policy='renew',
                              new_expiry_pending=True, reason='renew pending until the next security heartbeat'))
    steps = [dict(vendor='nrfcloud', step='rotate client certificate', results=nrf),
             dict(vendor='ublox', step='renew certificates from fleet-ca', results=ublox)]
    return dict(name='certificate-rotation-2026-06-01', title='Certificate rotation', batch='2026-06-01', done_word='up to date',
                kind='rotation', window_days=30, steps=steps, serials=serials, return_devices=False, started=now - 300)


def build(workdir, label, args, env):
    """Build one report in a fresh process; returns (seconds in main(), HTML bytes, JSON bytes)."""
    path = os.path.join(workdir, label + '.json')
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(dict(args, path=os.path.join(workdir, 'reports-' + label)), handle)
    answer = subprocess.run([sys.executable, '-c', DRIVER, path], env=env, capture_output=True, text=True, check=False)
    if answer.returncode != 0:
        raise RuntimeError('%s: the driver failed: %s' % (label, answer.stderr[-2000:]))
    result = json.loads(answer.stdout.strip().splitlines()[-1])
    if result['failed']:
        raise RuntimeError('%s: the report failed: %s' % (label, result['msg']))
    return result['seconds'], os.path.getsize(result['html']), os.path.getsize(result['json'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--devices', type=int, default=5000, help='devices in each report (default 5000)')
    parser.add_argument('--repeat', type=int, default=3, help='builds of each report (default 3)')
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='iotops-report-bench-') as workdir:
        collections = os.path.join(workdir, 'collections')
        os.makedirs(os.path.join(collections, 'ansible_collections', 'iotops'))
        os.symlink(ROOT, os.path.join(collections, 'ansible_collections', 'iotops', 'provisioning'))
        env = dict(os.environ, PYTHONPATH=collections, TMPDIR=workdir)
        print('| report | devices | builds | median s | best s | HTML KiB | JSON KiB |')
        print('|---|---|---|---|---|---|---|')
        failed = False
        for label, args in (('batch', batch_args(opts.devices)), ('rotation', rotation_args(opts.devices))):
            try:
                runs = [build(workdir, label, args, env) for _run in range(opts.repeat)]
            except RuntimeError as exc:
                print('FAILED: %s' % exc, file=sys.stderr)
                failed = True
                continue
            seconds = [run[0] for run in runs]
            row = (label, opts.devices, len(runs), statistics.median(seconds), min(seconds), runs[-1][1] // 1024, runs[-1][2] // 1024)
            print('| %s | %d | %d | %.2f | %.2f | %d | %d |' % row)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
