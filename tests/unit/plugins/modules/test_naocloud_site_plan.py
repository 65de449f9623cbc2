# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""naocloud_site's rules, matching and planner with data alone (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.modules.naocloud_site import match_site, plan_site, site_key, validate_site

HALL = {'id': 101, 'name': 'Mock Factory Hall', 'latitude': 48.1374, 'longitude': 11.5755}
WAREHOUSE = {'id': 102, 'name': 'Mock Warehouse', 'latitude': 48.15, 'longitude': 11.58}
SITES = [HALL, WAREHOUSE]


def item(**values):
    return dict(dict(name=None, id=None, latitude=None, longitude=None), **values)


def test_a_missing_site_is_created_with_its_three_attributes():
    new = item(name='Line 4 Hall', latitude=48.1391, longitude=11.5802)
    assert match_site(new, SITES) is None
    plan = plan_site(new, None)
    assert (plan.item, plan.action) == ('Line 4 Hall', 'create')
    assert plan.data['attributes'] == {'name': 'Line 4 Hall', 'latitude': 48.1391, 'longitude': 11.5802}
    outcome = plan.outcome()
    assert outcome['site'] == plan.data['attributes'] and 'id' not in outcome['site']  # NAO Cloud assigns it
    assert outcome['diff'] == {'before': {}, 'after': {'name': 'Line 4 Hall', 'latitude': 48.1391, 'longitude': 11.5802}}


def test_a_site_found_by_name_is_updated_with_only_what_differs():
    moved = item(name='Mock Warehouse', latitude=48.15, longitude=11.59)
    have = match_site(moved, SITES)
    assert have is WAREHOUSE
    plan = plan_site(moved, have)
    assert plan.action == 'update' and plan.data == {'attributes': {'longitude': 11.59}, 'id': 102}
    assert plan.before == {'name': 'Mock Warehouse', 'latitude': 48.15, 'longitude': 11.58}
    assert plan.after == {'name': 'Mock Warehouse', 'latitude': 48.15, 'longitude': 11.59}
    assert plan.outcome()['site'] == dict(WAREHOUSE, longitude=11.59)


def test_attributes_left_out_are_kept_and_numbers_compare_as_numbers():
    assert plan_site(item(name='Mock Warehouse'), WAREHOUSE).action == 'none'
    whole = dict(WAREHOUSE, latitude=48, longitude=11)  # NAO Cloud may hold integers
    plan = plan_site(item(name='Mock Warehouse', latitude=48.0, longitude=11.0), whole)
    assert plan.action == 'none' and not plan.changes and 'diff' not in plan.outcome()


def test_an_id_renames_and_is_the_items_name_in_results():
    rename = item(id=101, name='Factory Hall (north)')
    assert site_key(rename) == '#101' and match_site(rename, SITES) is HALL
    plan = plan_site(rename, HALL)
    assert plan.item == '#101' and plan.action == 'update' and plan.data['attributes'] == {'name': 'Factory Hall (north)'}
    assert plan_site(item(id=101), HALL).action == 'none'


def test_what_cannot_be_matched_is_refused():
    with pytest.raises(ConfigError, match='NAO Cloud has no site 999 that this user can see; leave id out to create a site'):
        match_site(item(id=999, name='x', latitude=1.0, longitude=1.0), SITES)
    shared = SITES + [dict(WAREHOUSE, id=105)]
    with pytest.raises(ConfigError, match=r"2 sites are named 'Mock Warehouse' \(ids 102, 105\); give the id"):
        match_site(item(name='Mock Warehouse'), shared)
    assert match_site(item(id=105, name='Mock Warehouse'), shared)['id'] == 105  # the id decides
    with pytest.raises(ConfigError, match="latitude and longitude are required to create a site: NAO Cloud has no site named 'New'"):
        match_site(item(name='New', latitude=1.0), SITES)


@pytest.mark.parametrize('values, words', [
    (dict(), 'give name or id'),
    (dict(name='  '), "name must not be blank; NAO Cloud refuses a site without a name"),
    (dict(id=0), 'id must be a positive NAO Cloud site id, got 0'),
    (dict(name='x', latitude=90.5), 'latitude must be a number of degrees from -90 to 90, got 90.5'),
    (dict(name='x', longitude=-181.0), 'longitude must be a number of degrees from -180 to 180, got -181.0'),
    (dict(name='x', latitude=float('nan')), 'latitude must be a number of degrees from -90 to 90, got nan'),
])
def test_bad_sites_are_refused_by_rule(values, words):
    with pytest.raises(ConfigError) as caught:
        validate_site(item(**values))
    assert words in caught.value.msg


def test_good_sites_pass():
    for values in (dict(name='x'), dict(id=1), dict(name='x', latitude=-90.0, longitude=180.0), dict(id=3, latitude=0.0)):
        validate_site(item(**values))
