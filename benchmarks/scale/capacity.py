# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mock's raw capacity for the role's call mix: requests/s from a lean keep-alive client on loopback.

The mix is taken from the mock's counters of a role run: every endpoint the role called is sent in the
same proportion, as a request that can be sent again and again:
- list reads go to the pages of the list as it is after the run (nRF pages by their pageNextToken,
  u-blox and NAO pages by number), per-device reads cycle over the batch's devices;
- the u-blox writes send the role's own chunk-sized bodies again (whitelist, tag assignment, feature
  provisioning and the device profile's bootstrap provisioning are idempotent);
- nRF claims are ``?dryrun=true`` claims of seeded, unclaimed devices (the whole claim check, nothing
  stored), nRF commands are clientCertificate commands appended to the batch's devices (at most 20 per
  device, so the number of requests is bounded by what the batch can take), iotcomms device PUTs replace
  the batch's devices, NAO tag POSTs create new tags;
- endpoints that cannot be repeated (bulk uploads, tag creation) are left out and listed.
The client writes raw HTTP/1.1 on asyncio streams (uvloop when installed), so it costs little CPU; it shares
the machine's cores with the mock, like ansible-playbook does during the run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from urllib.parse import quote, urlencode

from iotops_mock import credentials

from . import baseline, fleet

COMMAND_LIMIT = 20
# numbers of the devices and tags a load creates, shared by every load of the run so that none is created twice
FRESH = itertools.count(1)


class LoadError(RuntimeError):
    """The load could not be set up."""


def _request(method, path, headers, body=None):
    lines = ['%s %s HTTP/1.1' % (method, path), 'Host: 127.0.0.1']
    lines += ['%s: %s' % item for item in headers.items()]
    payload = b''
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        if 'Content-Type' not in headers:
            lines.append('Content-Type: application/json')
        lines.append('Content-Length: %d' % len(payload))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + payload


def _cycle(values):
    return itertools.cycle(list(values))


class Mix:
    """Generators of requests per endpoint key, and the endpoints left out."""

    def __init__(self, mock, rows, chunk_size, certificate_path, command_devices=2000):
        self.mock = mock
        self.certificate_path = certificate_path
        self.command_devices = command_devices
        self.rows = rows
        self.chunk = max(1, min(chunk_size, len(rows)))
        self.nrf = {'Authorization': 'Bearer ' + credentials.NRFCLOUD_TEAM_A_API_KEY}
        self.ublox = {'Authorization': fleet.ublox_token(mock)}
        self.iot = {'Authorization': 'Bearer ' + baseline.iotcomms_jwt()}
        self.nao = {'Authorization': credentials.NAOCLOUD_API_KEY}
        self.state = mock.admin.state()
        self.limits = {}  # key -> how many requests of that endpoint the state can take

    # helpers ---------------------------------------------------------------------------------

    def _nrf_pages(self, prefix, path):
        """Query strings of every page of an nRF list (walked once now)."""
        import requests  # pylint: disable=import-outside-toplevel
        queries, token = [], None
        session = requests.Session()
        session.trust_env = False
        while True:
            params = {'pageLimit': 100}
            if token:
                params['pageNextToken'] = token
            queries.append(urlencode(params))
            body = session.get(self.mock.url + prefix + path, params=params, headers=self.nrf, timeout=60).json()
            token = body.get('pageNextToken')
            if not token or len(queries) > 1000:
                return queries

    def _ublox_pages(self, total):
        return range(1, max(1, -(-total // 100)) + 1)

    def _chunks(self, values):
        values = list(values)
        return [values[start:start + self.chunk] for start in range(0, len(values), self.chunk)]

    # the endpoints ---------------------------------------------------------------------------

    def generator(self, key):  # pylint: disable=too-many-return-statements,too-many-branches
        """A generator of raw requests for ``key`` ('<vendor> <METHOD> <template>'), or None if it cannot be repeated."""
        vendor, method, template = key.split(' ', 2)
        rows = self.rows
        nrf_ids = [r['nrfcloud_device_id'] for r in rows]
        rots = [r['ublox_rot_public_uid'] for r in rows]
        if vendor == 'nrfcloud-provisioning':
            base = '/nrfcloud-provisioning/v1'
            if (method, template) == ('GET', '/v1/claimed-devices'):
                return (_request('GET', base + '/claimed-devices?' + q, self.nrf) for q in _cycle(self._nrf_pages(base, '/claimed-devices')))
            if (method, template) == ('GET', '/v1/claimed-devices/{device_id}'):
                return (_request('GET', base + '/claimed-devices/' + d, self.nrf) for d in _cycle(nrf_ids))
            if (method, template) == ('GET', '/v1/claimed-devices/{device_id}/provisioning'):
                return (_request('GET', base + '/claimed-devices/%s/provisioning?pageLimit=100' % d, self.nrf) for d in _cycle(nrf_ids))
            if (method, template) == ('POST', '/v1/claimed-devices'):
                fresh = self.mock.admin.seed('nrfcloud-provisioning', 'attestation-tokens', {'count': 50})['devices']
                return (_request('POST', base + '/claimed-devices?dryrun=true', self.nrf, {'claimToken': d['claim_token']})
                        for d in _cycle(fresh))
            if (method, template) == ('POST', '/v1/claimed-devices/{device_id}/provisioning'):
                # appended to devices seeded as claimed for the load (20 commands each at most), not to the batch's
                pool = self.mock.admin.seed('nrfcloud-provisioning', 'claimed-devices', {'count': self.command_devices})['added']
                with open(self.certificate_path, encoding='utf-8') as handle:
                    pem = handle.read()
                body = {'request': {'clientCertificate': {'secTag': fleet.SEC_TAG, 'content': pem}}, 'description': 'capacity load'}
                self.limits[key] = COMMAND_LIMIT * len(pool)
                order = [d for dummy in range(COMMAND_LIMIT) for d in pool]
                return (_request('POST', base + '/claimed-devices/%s/provisioning' % quote(d, safe=''), self.nrf, body) for d in order)
            return None
        if vendor == 'nrfcloud':
            base = '/nrfcloud/v1'
            if (method, template) == ('GET', '/v1/devices'):
                return (_request('GET', base + '/devices?' + q, self.nrf) for q in _cycle(self._nrf_pages(base, '/devices')))
            if (method, template) == ('GET', '/v1/bulk-ops-requests/{request_id}'):
                ops = [op['bulkOpsRequestId'] for op in self.state['nrfcloud']['teams']['a']['bulkOps']]
                return (_request('GET', base + '/bulk-ops-requests/' + op, self.nrf) for op in _cycle(ops)) if ops else None
            return None
        if vendor == 'ublox':
            base = '/ublox/v1'
            ublox = self.state['ublox']
            local_dpr = {'Authorizations': [{'Name': 'LocalDPR', 'State': 'ENABLED'}]}
            bodies = {
                '/v1/authenticate': [{'APIKey': credentials.UBLOX_API_KEY, 'APISecret': credentials.UBLOX_API_SECRET}],
                '/v1/device/list/get': [{'Filter': 'ALL', 'PageNumber': p} for p in self._ublox_pages(len(ublox['devices']))],
                '/v1/device/whitelist/get': [{'PageNumber': p} for p in self._ublox_pages(len(ublox['whitelist']))],
                '/v1/device/rotpublicuid/get': [{'TagNames': [fleet.UBLOX_TAG], 'PageNumber': p} for p in self._ublox_pages(len(rows))],
                '/v1/tag/get': [{'PageNumber': 1}],
                '/v1/device/info/get': [{'ROTPublicUIDs': c, 'Options': ['PROVISIONING']} for c in [rots[s:s + 100] for s in range(0, len(rots), 100)]],
                '/v1/device/whitelist/add': [{'Action': 'ADD', 'ROTPublicUIDs': c, 'IMEIs': [r['ublox_imei'] for r in rows if r['ublox_rot_public_uid'] in c]}
                                             for c in self._chunks(rots)],
                '/v1/tag/assign': [{'TagNames': [fleet.UBLOX_TAG], 'ROTPublicUIDs': c} for c in self._chunks(rots)],
                '/v1/device/provisioning/set': [{'ROTPublicUIDs': c, 'Provisioning': local_dpr} for c in self._chunks(rots)],
                '/v1/deviceprofile/bootstrapprovisioning/get': [{'DeviceProfileUID': fleet.UBLOX_PROFILE}],
                '/v1/deviceprofile/bootstrapprovisioning/set': [{'DeviceProfileUID': fleet.UBLOX_PROFILE, 'Provisioning': local_dpr}],
            }
            if method != 'POST' or template not in bodies:
                return None
            headers = {} if template == '/v1/authenticate' else self.ublox
            return (_request('POST', base + template[3:], headers, body) for body in _cycle(bodies[template]))
        if vendor == 'iotcomms':
            collection = '/iotcomms/provisioning/device/' + quote(credentials.IOTCOMMS_DOMAIN, safe='')
            if (method, template) == ('GET', '/provisioning/device/{domain}'):
                return (_request('GET', collection, self.iot) for dummy in itertools.count())
            if (method, template) == ('GET', '/provisioning/device/{domain}/bulk/{bulk_id}'):
                jobs = [job['bulkId'] for job in self.state['iotcomms']['domains'][credentials.IOTCOMMS_DOMAIN].get('bulk_jobs') or []]
                return (_request('GET', collection + '/bulk/' + quote(j, safe=''), self.iot) for j in _cycle(jobs)) if jobs else None
            if (method, template) == ('PUT', '/provisioning/device/{domain}'):
                return (_request('PUT', collection, self.iot, {'deviceId': '4690%06d' % n, 'deviceType': 'alarmUnit', 'authType': 'deviceid',
                                                               'description': 'capacity load'}) for n in FRESH)
            if (method, template) == ('GET', '/provisioning/device/{domain}/{device_id}'):
                return (_request('GET', collection + '/' + r['iotcomms_device_id'], self.iot) for r in _cycle(rows))
            return None
        if vendor == 'naocloud':
            base = '/naocloud/api/v2/sites/%d/nao_trackables' % fleet.SITE_ID
            if (method, template) == ('GET', '/api/v2/sites/{site_id}/nao_trackables'):
                pages = max(1, -(-len(self.state['naocloud']['trackables'][str(fleet.SITE_ID)]) // 100))
                return (_request('GET', base + '?' + urlencode({'page[number]': p, 'page[size]': 100}), self.nao) for p in _cycle(range(1, pages + 1)))
            if (method, template) == ('POST', '/api/v2/sites/{site_id}/nao_trackables'):
                return (_request('POST', base, self.nao, {'nao_trackable': {'tracking_id': 'CA:FE:%s' % ':'.join(re.findall('..', '%08X' % n)),
                                                                            'name': 'load %d' % n}}) for n in FRESH)
            return None
        return None


def schedule(weights, length=2000):
    """A smooth weighted round robin over ``weights`` ({key: count}), ``length`` long."""
    total = float(sum(weights.values()))
    current = dict.fromkeys(weights, 0.0)
    order = []
    for dummy in range(length):
        for key, weight in weights.items():
            current[key] += weight
        best = max(current, key=current.get)
        current[best] -= total
        order.append(best)
    return order


async def _read_response(reader):
    head = await reader.readuntil(b'\r\n\r\n')
    status = int(head[9:12])
    match = re.search(rb'(?i)\r\ncontent-length: *(\d+)', head)
    if match:
        await reader.readexactly(int(match.group(1)))
    return status


async def _worker(port, next_request, deadline, budget, counts):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    try:
        while budget[0] > 0 and time.monotonic() < deadline:
            budget[0] -= 1
            key, request = next_request()
            if request is None:
                budget[0] = 0
                break
            writer.write(request)
            status = await _read_response(reader)
            counts['done'] += 1
            if not 200 <= status < 300:
                counts['errors'][key] = counts['errors'].get(key, 0) + 1
    finally:
        writer.close()


def measure(mock, counters, rows, chunk_size, ca_path, connections=16, max_requests=30000, seconds=10.0):
    """Requests/s of the mix of ``counters`` (a /_mock/counters snapshot); returns a dict of the figures."""
    url = mock.url
    if not url.startswith('http://127.0.0.1:'):
        raise LoadError('the capacity load only targets the mock on 127.0.0.1')
    port = int(url.rsplit(':', 1)[1])
    mix = Mix(mock, rows, chunk_size, ca_path)
    generators, weights, left_out = {}, {}, {}
    for key, count in sorted(counters['endpoints'].items()):
        generator = mix.generator(key)
        if generator is None:
            left_out[key] = count
            continue
        generators[key] = generator
        weights[key] = count
    if not weights:
        raise LoadError('no endpoint of the mix can be repeated')
    total_weight = float(sum(weights.values()))
    budget = max_requests
    for key, limit in mix.limits.items():
        if key in weights:
            budget = min(budget, int(limit * total_weight / weights[key]))
    order = schedule(weights)
    position = itertools.cycle(order)

    def next_request():
        key = next(position)
        return key, next(generators[key], None)

    try:
        import uvloop  # pylint: disable=import-outside-toplevel
        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    mock.admin.reset_counters()
    counts = {'done': 0, 'errors': {}}
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        shared = [budget]
        started = time.monotonic()
        runner.run(_all(port, next_request, started + seconds, shared, counts, connections))
        elapsed = time.monotonic() - started
    served = mock.admin.counters()
    return dict(requests=counts['done'], seconds=elapsed, rps=counts['done'] / elapsed if elapsed else 0.0, errors=counts['errors'],
                connections=connections, budget=budget, left_out=left_out, mix_share=1.0 - sum(left_out.values()) / float(sum(counters['endpoints'].values())),
                served_by_category=served['by_category'], endpoints=len(weights))


async def _all(port, next_request, deadline, shared, counts, connections):
    await asyncio.gather(*(_worker(port, next_request, deadline, shared, counts) for dummy in range(connections)))
