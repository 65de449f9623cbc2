# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""u-blox notification webhooks: their API calls (seed 002 /notification/webhook/*), their rules and ublox_webhook's
planner, with data alone.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

u-blox keeps one registration per NotificationURL and NotificationType, with an AuthorizationToken it sends in the
``Authorization`` header of every delivery. ``update`` and ``delete`` take only the NotificationURL, so they act on
every registration of that URL: taking one type away from a URL that keeps others means deleting the URL and creating
the kept registrations again, which needs the URL's token (u-blox never returns it).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._resource import NO_CHANGE, Plan

# seed 002 /notification/webhook/create, NotificationType
NOTIFICATION_TYPES = (
    'DEVICE_BOOTSTRAP_EVENT',
    'DEVICE_PROPERTIES_CHANGE_EVENT',
    'DEVICE_ERRORS_EVENT',
    'DEVICE_CERTIFICATE_RENEWAL_EVENT',
    'DEVICE_CERTIFICATE_EXPIRATION_EVENT',
    'ROOTCA_EXPIRATION_EVENT',
)
HTTPS_RULE = 'u-blox calls only https endpoints (seed 002 /notification/webhook/create: "only https endpoints are accepted")'

CREATE = 'create'
UPDATE = 'update'          # the URL's token only
REPLACE = 'replace'        # delete the URL, create its kept registrations again
DELETE = 'delete'

PATH_GET = '/notification/webhook/get'
PATH_CREATE = '/notification/webhook/create'
PATH_UPDATE = '/notification/webhook/update'
PATH_DELETE = '/notification/webhook/delete'


# -- rules (no state) -------------------------------------------------------------------------------

def ordered(types):
    """Notification types in the seed's order (a stable order for results, diffs and requests)."""
    return sorted(set(types), key=lambda kind: (NOTIFICATION_TYPES.index(kind) if kind in NOTIFICATION_TYPES else len(NOTIFICATION_TYPES), str(kind)))


def shown_url(url):
    """The URL for results and messages, without any user:password part (which validation refuses anyway)."""
    if not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if '@' not in parts.netloc:
        return url
    return parts._replace(netloc='***@' + parts.netloc.rsplit('@', 1)[1]).geturl()


def url_problem(url):
    """Why ``url`` cannot be a u-blox NotificationURL, or None."""
    if not isinstance(url, str) or not url:
        return 'a NotificationURL is required'
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return 'contains whitespace or a control character; give a fully qualified https URL'
    try:
        parts = urlsplit(url)
        dummy = parts.port  # a port that is not a number raises here
    except ValueError:
        return '%r is not a valid URL; give a fully qualified https URL' % shown_url(url)
    if parts.scheme.lower() != 'https':
        return '%r is not an https URL; %s' % (shown_url(url), HTTPS_RULE)
    if not parts.hostname:
        return '%r has no host; the URL must be fully qualified (https://host/path)' % shown_url(url)
    if '@' in parts.netloc:
        return ('%r carries a user name or password; u-blox sends credentials to the endpoint in the Authorization header: '
                'give them in authorization_token' % shown_url(url))
    return None


def token_problem(token):
    """Why ``token`` cannot be an AuthorizationToken (an HTTP header value), or None; never names the token."""
    if not isinstance(token, str) or not token.strip():
        return 'is empty; u-blox requires an AuthorizationToken for every webhook (seed 002 /notification/webhook/create)'
    if any(ord(char) < 32 or ord(char) == 127 for char in token):
        return 'contains a line break or a control character; it is sent as the value of the Authorization header'
    return None


def validate_webhook(item):
    """Rules that need no state; normalises ``notification_types`` (in the seed's order, no duplicates)."""
    problem = url_problem(item['url'])
    if problem:
        raise ConfigError('url %s' % problem)
    types = item.get('notification_types')
    if types is not None:
        unknown = [kind for kind in types if kind not in NOTIFICATION_TYPES]
        if unknown:
            raise ConfigError('notification_types: %s is not a u-blox notification type; use %s (seed 002)'
                              % (', '.join(repr(kind) for kind in unknown), ', '.join(NOTIFICATION_TYPES)))
        if not types:
            raise ConfigError('notification_types is empty; give at least one of %s, or leave it out with state=absent to remove '
                              'every registration of the URL' % ', '.join(NOTIFICATION_TYPES))
        item['notification_types'] = ordered(types)
    token = item.get('authorization_token')
    if item['state'] == 'present':
        if types is None:
            raise ConfigError('notification_types is required with state=present: the events u-blox sends to this URL')
        if token is None:
            raise ConfigError('authorization_token is required with state=present: u-blox needs it to create the webhook, and '
                              'never returns it')
    if token is not None:
        problem = token_problem(token)
        if problem:
            raise ConfigError('authorization_token %s' % problem)


# -- state ------------------------------------------------------------------------------------------

def registrations(records):
    """{NotificationURL: set of NotificationTypes} from a /notification/webhook/get answer (a list of registrations)."""
    if isinstance(records, dict):
        # the seed shows only a list; a wrapped list is read too
        records = next((value for value in records.values() if isinstance(value, list)), [])
    found = {}
    for record in records or []:
        if isinstance(record, dict) and record.get('NotificationURL'):
            found.setdefault(record['NotificationURL'], set()).add(record.get('NotificationType'))
    return found


def exclusive_scope(items):
    """The notification types whose registrations an exclusive task makes exact: those its present items name."""
    return frozenset(kind for item in items if item['state'] == 'present' for kind in item['notification_types'])


def implied_removals(items, current, scope):
    """Items for the URLs the task does not name that exclusive=true takes out of the types in ``scope``."""
    named = set(item['url'] for item in items)
    implied = []
    for url in sorted(current):
        dropped = ordered(current[url] & scope)
        if url not in named and dropped:
            implied.append(dict(url=url, state='absent', notification_types=dropped, authorization_token=None, implied=True))
    return implied


def wanted_types(item, current, scope=frozenset()):
    """The registrations of the item's URL after the task. ``scope``: the types exclusive=true makes exact."""
    types = set(item.get('notification_types') or ())
    if item['state'] == 'present':
        return (current | types) - (scope - types)
    if item.get('notification_types') is None:
        return set()
    return current - types - scope


def check_recreate(item, current, scope=frozenset()):
    """ConfigError when the item takes some of its URL's registrations away and keeps others but has no token to create
    the kept ones again (u-blox deletes a URL's registrations together). Run for every item before the first write."""
    wanted = wanted_types(item, current, scope)
    if not wanted or wanted >= current or item.get('authorization_token'):
        return
    removed = ', '.join(ordered(current - wanted))
    kept = ', '.join(ordered(wanted))
    if item.get('implied'):
        raise ConfigError('exclusive=true would take %s out of %s, but that URL also receives %s, which this task does not manage; '
                          'u-blox deletes every registration of a URL together (/notification/webhook/delete takes only the URL) and '
                          'never returns its token, so the others cannot be created again: list the URL in webhooks with its '
                          'authorization_token and notification_types, or with state=absent' % (shown_url(item['url']), removed, kept))
    raise ConfigError('removing %s keeps %s, and u-blox deletes every registration of a URL together: give authorization_token '
                      'so the kept ones can be created again' % (removed, kept))


# -- planner ----------------------------------------------------------------------------------------

def webhook_view(types):
    return dict(state='present' if types else 'absent', notification_types=ordered(types))


def plan_webhook(item, current=frozenset(), scope=frozenset(), update_token='on_create'):
    """What one URL needs, given the types u-blox has registered for it (``current``) and the types an exclusive task
    makes exact (``scope``); no request. ``update_token=always`` sends the token to a URL that already has registrations."""
    current = set(current)
    wanted = wanted_types(item, current, scope)
    check_recreate(item, current, scope)
    added, removed = ordered(wanted - current), ordered(current - wanted)
    token = item.get('authorization_token')
    send_token = bool(item['state'] == 'present' and update_token == 'always' and current and wanted and not removed)
    if removed and wanted:
        action, create = REPLACE, ordered(wanted)
    elif removed:
        action, create = DELETE, []
    elif added:
        action, create = CREATE, added
    else:
        action, create = (UPDATE if send_token else NO_CHANGE), []
    after = webhook_view(wanted)
    if send_token:
        after['token_updated'] = True
    result = dict(url=shown_url(item['url']), state=after['state'], notification_types=ordered(wanted), added_notification_types=added,
                  removed_notification_types=removed, token_updated=bool(send_token or (removed and wanted)))
    return Plan(shown_url(item['url']), action, before=webhook_view(current), after=after, result=result,
                url=item['url'], token=token, create=create, delete=action in (REPLACE, DELETE), update=send_token)


# -- calls ------------------------------------------------------------------------------------------
# Each write sends the vendor's body; ``verify_write`` re-reads when a write's outcome is unknown (a dropped connection), so
# a write is never blindly sent twice.

def read_webhooks(client):
    """{NotificationURL: set of NotificationTypes} of every registration."""
    return registrations(client.call(PATH_GET))


def create_webhook(client, url, kind, token):
    def registered():
        return {'registered': kind} if kind in read_webhooks(client).get(url, ()) else None
    client.call(PATH_CREATE, {'NotificationURL': url, 'AuthorizationToken': token, 'NotificationType': kind}, verify_write=registered)


def update_webhook_token(client, url, token):
    # setting the same token again is harmless: a lost answer is sent again
    client.call(PATH_UPDATE, {'NotificationURL': url, 'AuthorizationToken': token}, verify_write=lambda: None)


def delete_webhook(client, url):
    client.call(PATH_DELETE, {'NotificationURL': url}, verify_write=lambda: {} if url not in read_webhooks(client) else None)


def apply_webhook(client, plan):
    """Send one plan's writes: delete (of the whole URL), the token update, then the creates."""
    url, token = plan.data['url'], plan.data['token']
    if plan.data['delete']:
        delete_webhook(client, url)
    if plan.data['update']:
        update_webhook_token(client, url, token)
    for kind in plan.data['create']:
        create_webhook(client, url, kind, token)
