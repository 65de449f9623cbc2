# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The minimal JSON Patch: no operation for an unchanged member, RFC 6901 escaping, strict JSON types.

Patches are applied with the ``jsonpatch`` library (an independent RFC 6902 implementation) to prove them right.
"""

from __future__ import annotations

import copy
import random

import jsonpatch

from ansible_collections.iotops.provisioning.plugins.module_utils._jsonpatch import apply_managed, json_equal, make_patch, pointer

DEVICE = {'deviceId': '4670001', 'authType': 'disabled', 'deviceType': 'alarmUnit', 'deviceCLI': '', 'macAddress': '',
          'description': 'old', 'authorized': {'domain': 'a.example', 'ports': [5060]}, 'enabled': True, 'weight': 1}


def test_unchanged_gives_no_operation():
    assert make_patch(DEVICE, {'authType': 'disabled', 'description': 'old', 'authorized': {'domain': 'a.example'}}) == []
    assert make_patch(DEVICE, {}) == []
    assert make_patch(DEVICE, {'weight': 1.0}) == []  # one JSON number


def test_one_changed_field_is_one_replace():
    assert make_patch(DEVICE, {'description': 'new', 'authType': 'disabled'}) == [
        {'op': 'replace', 'path': '/description', 'value': 'new'}]


def test_add_remove_and_nested_members():
    ops = make_patch(DEVICE, {'authorized': {'domain': 'b.example', 'realm': 'r'}, 'callback': {'url': 'https://x'},
                              'enabled': None, 'missing': None})
    assert ops == [
        {'op': 'replace', 'path': '/authorized/domain', 'value': 'b.example'},
        {'op': 'add', 'path': '/authorized/realm', 'value': 'r'},
        {'op': 'add', 'path': '/callback', 'value': {'url': 'https://x'}},
        {'op': 'remove', 'path': '/enabled'},
    ]
    patched = jsonpatch.apply_patch(DEVICE, ops)
    assert patched == apply_managed(DEVICE, {'authorized': {'domain': 'b.example', 'realm': 'r'}, 'callback': {'url': 'https://x'},
                                             'enabled': None, 'missing': None})


def test_strict_types_and_whole_lists():
    assert make_patch(DEVICE, {'enabled': 1}) == [{'op': 'replace', 'path': '/enabled', 'value': 1}]
    assert make_patch(DEVICE, {'weight': True}) == [{'op': 'replace', 'path': '/weight', 'value': True}]
    assert make_patch(DEVICE, {'authorized': {'ports': [5060, 5061]}}) == [
        {'op': 'replace', 'path': '/authorized/ports', 'value': [5060, 5061]}]
    assert make_patch(DEVICE, {'description': {'text': 'x'}}) == [{'op': 'replace', 'path': '/description', 'value': {'text': 'x'}}]
    assert not json_equal('1', 1) and not json_equal(None, '') and json_equal({'a': [1, {'b': 2}]}, {'a': [1.0, {'b': 2}]})


def test_pointer_escaping_rfc6901():
    assert pointer('a/b', 'm~n') == '/a~1b/m~0n'
    current = {'paths': {'a/b': 1, 'm~n': 2}}
    ops = make_patch(current, {'paths': {'a/b': 3, 'm~n': 2, '': 'empty key'}})
    assert ops == [{'op': 'replace', 'path': '/paths/a~1b', 'value': 3}, {'op': 'add', 'path': '/paths/', 'value': 'empty key'}]
    assert jsonpatch.apply_patch(current, ops) == {'paths': {'a/b': 3, 'm~n': 2, '': 'empty key'}}


def test_none_inside_added_objects_is_left_out():
    assert make_patch({}, {'callback': {'url': 'u', 'token': None}}) == [{'op': 'add', 'path': '/callback', 'value': {'url': 'u'}}]


def _random_value(rng, depth=0):
    kind = rng.randrange(5 if depth < 3 else 4)
    if kind == 0:
        return rng.choice([True, False, None])
    if kind == 1:
        return rng.randrange(3)
    if kind == 2:
        return rng.choice(['', 'x', 'y/z', 'a~b'])
    if kind == 3:
        return [rng.randrange(2) for dummy in range(rng.randrange(3))]
    return _random_object(rng, depth + 1)


def _random_object(rng, depth=0):
    return {rng.choice(['k', 'l/m', 'n~o', 'p']): _random_value(rng, depth) for dummy in range(rng.randrange(4))}


def _without_none(value):
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    return value


def test_random_documents_round_trip_through_jsonpatch():
    rng = random.Random(20261122)
    for dummy in range(3000):
        current = _without_none(_random_object(rng))  # a stored document has no "absent" markers
        desired = _random_object(rng)
        before = copy.deepcopy(current)
        ops = make_patch(current, desired)
        assert current == before  # never mutated
        patched = jsonpatch.apply_patch(current, ops)
        assert json_equal(patched, apply_managed(current, desired)), (current, desired, ops)
        assert make_patch(patched, desired) == []  # converged: a second run sends nothing
        changed = [key for key in desired if not (desired[key] is None and key not in current)
                   and not (key in current and json_equal(current[key], desired[key]))]
        if not changed:
            assert ops == []
