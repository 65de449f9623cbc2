"""Small helpers shared by the vendor routers and the admin API."""

import base64
import datetime
import json
import os
import tempfile

from starlette.responses import JSONResponse


class ApiError(Exception):
    """Raised by a handler to answer with a ready-made error response."""

    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


class BadRequest(ValueError):
    """Invalid input to the admin API or to a seed call."""


def json_response(content, status=200, headers=None):
    """Compact JSON response (Starlette's JSONResponse already uses compact separators)."""
    return JSONResponse(content, status_code=status, headers=headers)


def utc_iso(timestamp):
    """ISO 8601 UTC with a ``Z`` suffix and whole seconds, e.g. 2020-04-20T19:00:36Z."""
    moment = datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def b64url_encode(data):
    """Base64url without padding, as used by JWTs and opaque page tokens."""
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def b64url_decode(text):
    """Inverse of b64url_encode; raises ValueError on bad input."""
    if not isinstance(text, str):
        raise ValueError('not a string')
    padded = text + '=' * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode('ascii'))
    except (UnicodeEncodeError, ValueError) as exc:
        raise ValueError('not base64url') from exc


def decode_json_segment(segment):
    """Decode one base64url JSON part of a JWT; raises ValueError when it is not one."""
    value = json.loads(b64url_decode(segment))
    if not isinstance(value, dict):
        raise ValueError('not a JSON object')
    return value


async def read_json(request, empty=None):
    """Parse the request body as JSON; ``empty`` is returned for an empty body. Raises ValueError."""
    body = await request.body()
    if not body.strip():
        if empty is None:
            raise ValueError('empty body')
        return empty
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError('body is not JSON') from exc


async def read_json_object(request):
    """The body of an admin call (POST /_mock/...): a JSON object, {} when empty; raises BadRequest."""
    try:
        data = await read_json(request, empty={})
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if not isinstance(data, dict):
        raise BadRequest('body must be a JSON object')
    return data


def shown(ids, limit=10):
    """Sorted ids for an error message: the first ``limit`` of them and how many more."""
    ids = sorted(ids)
    text = ', '.join(ids[:limit])
    return text + (' and %d more' % (len(ids) - limit) if len(ids) > limit else '')


def is_number(value):
    """True for int/float JSON numbers (bool excluded)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def bearer_token(header):
    """Token of an ``Authorization: Bearer <token>`` header, or None."""
    if header and header[:7].lower() == 'bearer ':
        return header[7:].strip()
    return None


def write_atomic(path, data, mode=0o644):
    """Write bytes to ``path`` through a temporary file in the same directory and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix='.tmp-', suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, 'wb') as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
        os.replace(tmp_path, path)
    except BaseException:
        os.unlink(tmp_path)
        raise
