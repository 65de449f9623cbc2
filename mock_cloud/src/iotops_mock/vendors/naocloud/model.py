"""NAO Cloud records and rules: the validation of tracking tags, background jobs and the JSON:API error bodies."""

import re

from ...common import ApiError, json_response, utc_iso

SESSION_LIFETIME = 24 * 3600  # "The token validity is usually 24 hours" (seed 001)
PAGE_SIZE_DEFAULT = 25
PAGE_SIZE_MAX = 100

TITLES = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
          406: 'Not Acceptable', 409: 'Conflict', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
          500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout'}

# Tracking tags (docs/mock-assumptions.md, NAO Cloud rows).
MAC_RE = re.compile(r'^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$')
NAME_MAX = 255
CATEGORY_MAX = 255
TRACKABLE_WRITABLE = ('name', 'tracking_id', 'category', 'is_active')
FILTER_ATTRIBUTES = ('tracking_id', 'is_active', 'category', 'name', 'battery')
JOB_BASE_SECONDS = 0.2       # a background job takes this long on the mock clock ...
JOB_ITEM_SECONDS = 0.001     # ... plus this per tag of a batch
JOB_IN_PROGRESS = 'In progress'  # the casing of the vendor's example (api §C.5)
JSON_TYPES = ('application/json', 'application/vnd.api+json')


class Invalid(ValueError):
    """A 422: ``errors`` is a list of (attribute or None, detail)."""

    def __init__(self, errors):
        super().__init__('; '.join(detail for _attr, detail in errors))
        self.errors = errors


def check_mac(value):
    if not isinstance(value, str) or not MAC_RE.match(value):
        return 'Tracking id %s is not a MAC address of the form AA:BB:CC:DD:EE:FF' % _show(value)
    return None


def _show(value):
    return '"%s"' % value if isinstance(value, str) else str(value)


def check_trackable_attributes(attributes, creating):
    """422 problems of a nao_trackable body (all of them, as Rails validations report)."""
    errors = []
    if not isinstance(attributes, dict):
        raise Invalid([(None, 'param is missing or the value is empty: nao_trackable')])
    for key in attributes:
        if key == 'id':
            errors.append(('id', 'Id is assigned by NAO Cloud; client-generated ids are not accepted'))
        elif key not in TRACKABLE_WRITABLE:
            errors.append((key, 'found unpermitted parameter: %s' % key))
    if creating or 'name' in attributes:
        name = attributes.get('name')
        if not isinstance(name, str) or not name.strip():
            errors.append(('name', "Name can't be blank"))
        elif len(name) > NAME_MAX:
            errors.append(('name', 'Name is too long (maximum is %d characters)' % NAME_MAX))
    if creating or 'tracking_id' in attributes:
        if attributes.get('tracking_id') in (None, ''):
            errors.append(('tracking_id', "Tracking id can't be blank"))
        else:
            problem = check_mac(attributes.get('tracking_id'))
            if problem:
                errors.append(('tracking_id', problem))
    if 'category' in attributes:
        category = attributes['category']
        if category is not None and (not isinstance(category, str) or len(category) > CATEGORY_MAX):
            errors.append(('category', 'Category must be a string of at most %d characters, or null' % CATEGORY_MAX))
    if 'is_active' in attributes and not isinstance(attributes['is_active'], bool):
        errors.append(('is_active', 'Is active must be true or false'))
    if errors:
        raise Invalid(errors)


class Job:
    """A background job (type ``job_watcher``): "In progress" until its time on the mock clock has come."""

    def __init__(self, job_id, created, finish_at, work, forced_failure=None):
        self.id = job_id
        self.created = created
        self.finish_at = finish_at
        self.work = work
        self.forced_failure = forced_failure
        self.status = JOB_IN_PROGRESS
        self.message = None
        self.updated = created

    def settle(self, now):
        if self.status != JOB_IN_PROGRESS or now < self.finish_at:
            return
        if self.forced_failure is not None:
            self.status, self.message = 'failure', self.forced_failure
        else:
            try:
                self.work()
            except Invalid as exc:
                self.status, self.message = 'failure', 'Validation failed: %s' % exc
            else:
                self.status, self.message = 'success', 'success'
        self.updated = self.finish_at

    def item(self):
        return {'id': str(self.id), 'type': 'job_watcher', 'attributes': {
            'id': self.id, 'name': None, 'description': None, 'status': self.status, 'message': self.message,
            'created_at': utc_iso(self.created), 'updated_at': utc_iso(self.updated),
            'has_finished': self.status != JOB_IN_PROGRESS}}


def error_response(status, message):
    title = TITLES.get(status, 'Error')
    return json_response({'errors': [{'status': str(status), 'title': title, 'detail': message or title}]}, status)


def fail(status, message):
    """An ApiError carrying the JSON:API error body."""
    return ApiError(error_response(status, message))


def unprocessable(invalid):
    """422 with one JSON:API error per invalid attribute."""
    errors = []
    for attribute, detail in invalid.errors:
        error = {'status': '422', 'title': TITLES[422], 'detail': detail}
        if attribute:
            error['source'] = {'pointer': '/data/attributes/%s' % attribute}
        errors.append(error)
    return ApiError(json_response({'errors': errors}, 422))
