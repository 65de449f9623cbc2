"""u-blox notification webhooks on the mock: registrations and the POSTs that deliver events to them.

Deliveries are sent from a worker thread with a short timeout, so a slow or dead receiver never
blocks the mock's event loop for long. Every attempt is logged (without the AuthorizationToken).

An https receiver must have a certificate the mock trusts: one from the system's CAs, as for u-blox, or one from the
mock's own private CA (the CA of its HTTPS listener, ``ca_cert`` in its endpoints file), which stands in for a public CA on
loopback: ``iotops_mock.tls.server_tls(<the mock's TLS directory>)`` gives a test receiver such a certificate.
"""

import asyncio
import ipaddress
import json
import ssl
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from ...common import json_response, utc_iso
from .api import SUCCESS, bad, not_found

NOTIFICATION_TYPES = (
    'DEVICE_BOOTSTRAP_EVENT',
    'DEVICE_PROPERTIES_CHANGE_EVENT',
    'DEVICE_ERRORS_EVENT',
    'DEVICE_CERTIFICATE_RENEWAL_EVENT',
    'DEVICE_CERTIFICATE_EXPIRATION_EVENT',
    'ROOTCA_EXPIRATION_EVENT',
)
DELIVERY_TIMEOUT = 2.0
LOG_LIMIT = 2000


def url_problem(url):
    """Why a NotificationURL is refused, or None. Seed 002: only https endpoints are accepted.

    The mock also accepts plain http on a loopback address, so tests can run a tiny receiver.
    """
    if not isinstance(url, str) or not url:
        return 'NotificationURL is required'
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return 'NotificationURL is not a valid URL'
    if not host:
        return 'NotificationURL is not a fully qualified URL'
    if parts.scheme == 'https':
        return None
    if parts.scheme == 'http' and _is_loopback(host):
        return None
    return 'NotificationURL must be an https URL'


def _is_loopback(host):
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Webhooks:
    """Registered notification hooks and the log of deliveries."""

    def __init__(self):
        self.hooks = []
        self.log = []
        self._lock = threading.Lock()
        self._openers = {}

    def opener(self, ca_file=None):
        """The opener of the deliveries: no proxy; https verified against the system's CAs and ``ca_file`` (the mock's CA)."""
        if ca_file not in self._openers:
            context = ssl.create_default_context()
            if ca_file:
                context.load_verify_locations(ca_file)
            self._openers[ca_file] = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                                 urllib.request.HTTPSHandler(context=context))
        return self._openers[ca_file]

    def reset(self):
        self.hooks = []
        with self._lock:
            self.log = []

    def find(self, url, notification_type=None):
        return [hook for hook in self.hooks
                if hook['url'] == url and (notification_type is None or hook['type'] == notification_type)]

    def public(self):
        # The AuthorizationToken is a credential of the receiver: never returned.
        return [{'NotificationURL': hook['url'], 'NotificationType': hook['type'], 'CreatedDate': utc_iso(hook['created'])}
                for hook in self.hooks]

    def dump(self):
        with self._lock:
            log = list(self.log)
        return {'hooks': self.public(), 'deliveries': log}

    def targets(self, events):
        """(hook, event) pairs to deliver, decided now so later registrations do not change them."""
        return [(dict(hook), evt) for evt in events for hook in self.hooks if hook['type'] == evt['EventType']]

    def deliver(self, targets, now, ca_file=None):
        """POST each event to its hook (blocking; run it in a thread). Returns the log entries."""
        opener = self.opener(ca_file)
        entries = []
        for hook, evt in targets:
            entry = {'NotificationURL': hook['url'], 'EventType': evt['EventType'], 'ROTPublicUID': evt.get('ROTPublicUID'),
                     'Timestamp': utc_iso(now)}
            request = urllib.request.Request(hook['url'], data=json.dumps(evt).encode('utf-8'), method='POST',
                                             headers={'Content-Type': 'application/json', 'Authorization': hook['token'],
                                                      'User-Agent': 'mock-ublox-notifications'})
            try:
                with opener.open(request, timeout=DELIVERY_TIMEOUT) as response:
                    entry['Status'] = response.status
            except urllib.error.HTTPError as exc:
                entry['Status'] = exc.code
            except (urllib.error.URLError, OSError, ValueError) as exc:
                entry['Error'] = type(getattr(exc, 'reason', exc)).__name__
            entries.append(entry)
        with self._lock:
            self.log.extend(entries)
            del self.log[:-LOG_LIMIT]
        return entries


class Notifications:
    """The /notification/webhook calls and the delivery of the devices' events to the registrations."""

    def __init__(self, store, auth):
        self.store = store
        self.auth = auth
        self.webhooks = Webhooks()

    def reset(self):
        self.webhooks.reset()

    def routes(self):
        return [('/notification/webhook/create', self.webhook_create), ('/notification/webhook/update', self.webhook_update),
                ('/notification/webhook/delete', self.webhook_delete), ('/notification/webhook/get', self.webhook_get)]

    async def webhook_create(self, request):
        data = await self.auth.authed_body(request)
        problem = url_problem(data.get('NotificationURL'))
        if problem:
            raise bad(problem)
        token = data.get('AuthorizationToken')
        if not isinstance(token, str) or not token:
            raise bad('AuthorizationToken is required')
        kind = data.get('NotificationType')
        if kind not in NOTIFICATION_TYPES:
            raise bad('NotificationType must be one of %s' % ', '.join(NOTIFICATION_TYPES))
        if self.webhooks.find(data['NotificationURL'], kind):
            raise bad('NotificationURL is already registered for %s' % kind)
        self.webhooks.hooks.append({'url': data['NotificationURL'], 'token': token, 'type': kind, 'created': self.store.now()})
        return json_response(SUCCESS)

    async def webhook_update(self, request):
        data = await self.auth.authed_body(request, ('NotificationURL', 'AuthorizationToken'))
        hooks = self.webhooks.find(data['NotificationURL'])
        if not hooks:
            raise not_found('NotificationURL does not exist')
        for hook in hooks:
            hook['token'] = data['AuthorizationToken']
        return json_response(SUCCESS)

    async def webhook_delete(self, request):
        data = await self.auth.authed_body(request, ('NotificationURL',))
        if not self.webhooks.find(data['NotificationURL']):
            raise not_found('NotificationURL does not exist')
        self.webhooks.hooks = [hook for hook in self.webhooks.hooks if hook['url'] != data['NotificationURL']]
        return json_response(SUCCESS)

    async def webhook_get(self, request):
        await self.auth.authed_body(request)
        return json_response(self.webhooks.public())

    async def notify(self, events):
        """Deliver ``events`` to the matching hooks from a worker thread; returns the delivery log entries."""
        targets = self.webhooks.targets(events)
        if not targets:
            return []
        loop = asyncio.get_running_loop()
        # the CA of the mock's HTTPS listener, when it has one (cli.serve sets it)
        ca_file = self.store.state.tls_ca
        return await loop.run_in_executor(None, self.webhooks.deliver, targets, self.store.now(), ca_file)
