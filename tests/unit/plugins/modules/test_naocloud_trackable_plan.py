# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""naocloud_trackable's planner and the NAO Cloud client's payload shapes with data alone (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils.naocloud import batch_entry, normalize_mac, trackable_filters
from ansible_collections.iotops.provisioning.plugins.modules.naocloud_trackable import check_creatable, plan_trackable, tag_key

HAVE = {'id': 17, 'name': 'Forklift 1', 'tracking_id': 'AA:BB:CC:00:00:01', 'category': 'forklift', 'is_active': True}


def item(**fields):
    fields.setdefault('state', 'present')
    return dict(dict(tracking_id='aa-bb-cc-00-00-01'), **fields)


def test_the_key_is_the_normalised_mac_once_it_is_one():
    assert tag_key(item()) == 'AA:BB:CC:00:00:01' == normalize_mac('aa-bb-cc-00-00-01')
    assert tag_key(item(tracking_id='aa-bb')) == 'aa-bb'  # not a MAC: named as given in the error


def test_new_tag_is_created_without_a_category_it_does_not_have():
    plan = plan_trackable(item(name='Forklift 1', category=''), None)
    assert plan.action == 'create' and plan.item == 'AA:BB:CC:00:00:01'
    assert plan.data['attributes'] == {'name': 'Forklift 1', 'tracking_id': 'AA:BB:CC:00:00:01'}
    assert plan.after == {'name': 'Forklift 1', 'tracking_id': 'AA:BB:CC:00:00:01', 'category': None}
    assert plan.result == dict(trackable=plan.after)


def test_only_changed_attributes_are_sent_and_left_out_ones_are_kept():
    plan = plan_trackable(item(name='Forklift 1 (spare)'), HAVE)
    assert plan.action == 'update' and plan.data == dict(attributes={'name': 'Forklift 1 (spare)'}, id=17, tag=plan.result['trackable'])
    assert plan.before['name'] == 'Forklift 1' and plan.after == dict(name='Forklift 1 (spare)', tracking_id=HAVE['tracking_id'],
                                                                      category='forklift')
    cleared = plan_trackable(item(category=''), HAVE)
    assert cleared.data['attributes'] == {'category': None}
    same = plan_trackable(item(name='Forklift 1'), HAVE)
    assert same.action == 'none' and same.result['trackable'] == HAVE


def test_absent():
    assert plan_trackable(item(state='absent'), HAVE).data['id'] == 17
    assert plan_trackable(item(state='absent'), HAVE).action == 'delete'
    assert plan_trackable(item(state='absent'), None).action == 'none'


def test_a_new_tag_needs_a_name():
    check_creatable(item(category='c'), HAVE)
    check_creatable(item(state='absent'), None)
    with pytest.raises(ConfigError) as err:
        check_creatable(item(category='c'), None)
    assert 'name is required to create a tag: the site has no tag AA:BB:CC:00:00:01' in str(err.value)


def test_filters_and_batch_entries():
    assert trackable_filters() is None
    assert trackable_filters(tracking_ids=['aa-bb-cc-00-00-01', 'AA:BB:CC:00:00:02'], categories=['a', 'b'], name='x') == {
        'tracking_ids': 'AA:BB:CC:00:00:01,AA:BB:CC:00:00:02', 'categories': 'a,b', 'filter[name_eq]': 'x'}
    assert batch_entry(HAVE) == {'name': 'Forklift 1', 'tracking_id': 'AA:BB:CC:00:00:01', 'category': 'forklift'}
    assert batch_entry(dict(HAVE, category=None)) == {'name': 'Forklift 1', 'tracking_id': 'AA:BB:CC:00:00:01'}
