# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal RFC 6902 JSON Patch between what a resource holds and what a task wants.

FOR INTERNAL COLLECTION USE ONLY: the API of this file may change without notice.

Only the members the task names are managed: a member the task leaves out is never touched, an
unchanged member gets no operation, and a member whose value is ``None`` in the task is removed
(if present). Objects are compared member by member, so a change deep inside a nested object is
one operation on that member's pointer (RFC 6901: ``~`` is written ``~0`` and ``/`` ``~1``).
Arrays and scalars are replaced whole. JSON types are compared strictly: ``true`` is not ``1``.
"""

from __future__ import annotations


def escape(token):
    """One reference token of a JSON Pointer (RFC 6901 section 3)."""
    return str(token).replace('~', '~0').replace('/', '~1')


def pointer(*tokens):
    """A JSON Pointer from reference tokens: ``pointer('authorized', 'domain') == '/authorized/domain'``."""
    return ''.join('/' + escape(token) for token in tokens)


def json_equal(left, right):
    """Equality of JSON values: booleans are not numbers, 1 equals 1.0, objects ignore member order."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right))
    if type(left) is not type(right):
        return False
    return left == right


def make_patch(current, desired, _tokens=()):
    """The operations that make ``current`` hold every member of ``desired``; ``[]`` when it already does.

    ``current`` and ``desired`` are JSON objects (dicts). The operations are ``add`` (member absent),
    ``replace`` (member present with another value) and ``remove`` (member present, desired ``None``),
    in the order of ``desired``.
    """
    ops = []
    for key, want in desired.items():
        tokens = _tokens + (key,)
        present = isinstance(current, dict) and key in current
        have = current.get(key) if present else None
        if want is None:
            if present:
                ops.append({'op': 'remove', 'path': pointer(*tokens)})
        elif not present:
            ops.append({'op': 'add', 'path': pointer(*tokens), 'value': without_none(want)})
        elif isinstance(want, dict) and isinstance(have, dict):
            ops.extend(make_patch(have, want, tokens))
        elif not json_equal(have, want):
            ops.append({'op': 'replace', 'path': pointer(*tokens), 'value': without_none(want)})
    return ops


def apply_managed(current, desired):
    """What the resource holds after ``make_patch(current, desired)`` is applied (for diffs and check mode)."""
    result = dict(current or {})
    for key, want in desired.items():
        if want is None:
            result.pop(key, None)
        elif isinstance(want, dict) and isinstance(result.get(key), dict):
            result[key] = apply_managed(result[key], want)
        else:
            result[key] = without_none(want)
    return result


def without_none(value):
    """A value to add or create: members set to ``None`` (meaning "absent") are left out of objects, at any depth."""
    if isinstance(value, dict):
        return {key: without_none(item) for key, item in value.items() if item is not None}
    return value
