"""u-blox notification webhooks on the mock: registrations and the POSTs that deliver events to them.

Deliveries are sent from a worker thread with a short timeout, so a slow or dead receiver never
blocks the mock's event loop for long. Every attempt is logged (without the AuthorizationToken).
"""

import ipaddress
import json
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from ..common import utc_iso

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
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

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

    def deliver(self, targets, now):
        """POST each event to its hook (blocking; run it in a thread). Returns the log entries."""
        entries = []
        for hook, evt in targets:
            entry = {'NotificationURL': hook['url'], 'EventType': evt['EventType'], 'ROTPublicUID': evt.get('ROTPublicUID'),
                     'Timestamp': utc_iso(now)}
            request = urllib.request.Request(hook['url'], data=json.dumps(evt).encode('utf-8'), method='POST',
                                             headers={'Content-Type': 'application/json', 'Authorization': hook['token'],
                                                      'User-Agent': 'mock-ublox-notifications'})
            try:
                with self._opener.open(request, timeout=DELIVERY_TIMEOUT) as response:
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
