# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""role_inputs' pem rule on a path variable: the file it names is read and checked on the controller before the role's first
write (an AWX credential gives the factory CA as files), and the exclusive rule between the PEM and the path of one thing.
The problems name the variable and the file, never the content of a key."""

from __future__ import annotations

import pytest
from iotops_mock.factory_ca import factory_ca_pems

from ansible_collections.iotops.provisioning.plugins.action.role_inputs import Typing

PASSPHRASE = 'ca pass phrase 7'
OPTIONS = {
    'x_ca_certificate': {'type': 'str', 'default': ''},
    'x_ca_certificate_path': {'type': 'path'},
    'x_ca_private_key': {'type': 'str', 'default': '', 'no_log': True},
    'x_ca_private_key_path': {'type': 'path'},
    'x_ca_private_key_passphrase': {'type': 'str', 'no_log': True},
    'x_count': {'type': 'int'},
}
CERTIFICATES = ['ca_certificate', 'ca_certificate_path']
RULES = {
    'ca_certificate': {'pem': 'certificate', 'exclusive': 'ca_certificate_path'},
    'ca_certificate_path': {'pem': 'certificate'},
    'ca_private_key': {'pem': 'private_key', 'passphrase': 'ca_private_key_passphrase', 'certificate': CERTIFICATES,
                       'exclusive': 'ca_private_key_path'},
    'ca_private_key_path': {'pem': 'private_key', 'passphrase': 'ca_private_key_passphrase', 'certificate': CERTIFICATES},
}


@pytest.fixture(scope='module')
def ca(tmp_path_factory):
    """A factory CA as the files of an AWX credential: (certificate PEM, key PEM, certificate path, key path)."""
    directory = tmp_path_factory.mktemp('ca')
    certificate, key = factory_ca_pems('Role Inputs Path CA', PASSPHRASE)
    paths = []
    for name, text in (('ca.pem', certificate), ('ca.key', key)):
        (directory / name).write_text(text)
        paths.append(str(directory / name))
    return certificate, key, paths[0], paths[1]


def typed(**given):
    """(values, problems) of the variables given by their names without the prefix; the others are not set."""
    typing = Typing(OPTIONS, 'x_', RULES)
    assert typing.config_problems() == []
    values = typing.typed(dict(('x_' + name, value) for name, value in given.items()), lambda raw: raw)
    return values, typing.problems


def test_the_ca_as_files_is_read_and_checked(ca):
    certificate, key, certificate_path, key_path = ca
    values, problems = typed(ca_certificate_path=certificate_path, ca_private_key_path=key_path, ca_private_key_passphrase=PASSPHRASE)
    assert problems == []
    assert (values['ca_certificate_path'], values['ca_private_key_path']) == (certificate_path, key_path)
    # a PEM and a file mixed: the key file belongs to the certificate given as PEM
    assert typed(ca_certificate=certificate, ca_private_key_path=key_path, ca_private_key_passphrase=PASSPHRASE)[1] == []
    assert typed(ca_certificate_path=certificate_path, ca_private_key=key, ca_private_key_passphrase=PASSPHRASE)[1] == []


def test_a_path_that_cannot_be_read_names_the_variable_and_the_file(ca, tmp_path):
    missing = str(tmp_path / 'no-such.pem')
    assert typed(ca_certificate_path=missing)[1] == [
        'x_ca_certificate_path: cannot read the file %s (No such file or directory)' % missing]
    assert typed(ca_private_key_path=str(tmp_path), ca_private_key_passphrase=PASSPHRASE)[1] == [
        'x_ca_private_key_path: cannot read the file %s (Is a directory)' % tmp_path]


def test_a_file_with_the_wrong_pem_names_what_it_holds_and_never_shows_the_key(ca):
    certificate, key, certificate_path, key_path = ca
    values, problems = typed(ca_certificate_path=key_path, ca_private_key_path=certificate_path, ca_private_key_passphrase=PASSPHRASE)
    assert len(problems) == 2 and not set(values) & {'ca_certificate_path', 'ca_private_key_path'}
    assert problems[0].startswith('x_ca_certificate_path (the file %s) must be a PEM certificate' % key_path)
    assert 'it holds a private key' in problems[0]
    assert problems[1].startswith('x_ca_private_key_path (the file %s): not a PEM private key: it holds a certificate' % certificate_path)
    for line in key.splitlines()[1:-1]:
        assert line not in ' '.join(problems)


def test_a_wrong_passphrase_or_another_ca_s_key_is_refused(ca, tmp_path):
    dummy, key, certificate_path, key_path = ca
    assert typed(ca_certificate_path=certificate_path, ca_private_key_path=key_path, ca_private_key_passphrase='wrong')[1] == [
        'x_ca_private_key_path (the file %s): the private key could not be decrypted with x_ca_private_key_passphrase: the '
        'passphrase is wrong, or the encrypted block is damaged' % key_path]
    other = tmp_path / 'other.key'
    other.write_text(factory_ca_pems('Another CA', PASSPHRASE)[1])
    assert typed(ca_certificate_path=certificate_path, ca_private_key_path=str(other), ca_private_key_passphrase=PASSPHRASE)[1] == [
        'x_ca_private_key_path: the private key does not belong to the certificate in x_ca_certificate_path (their public keys differ)']


def test_the_pem_and_the_path_of_one_thing_are_mutually_exclusive(ca):
    certificate, key, certificate_path, key_path = ca
    values, problems = typed(ca_certificate=certificate, ca_certificate_path=certificate_path, ca_private_key=key,
                             ca_private_key_path=key_path, ca_private_key_passphrase=PASSPHRASE)
    assert problems == [
        'x_ca_certificate: given together with x_ca_certificate_path: they are two ways to give the same thing, give one of them',
        'x_ca_private_key: given together with x_ca_private_key_path: they are two ways to give the same thing, give one of them']
    assert 'ca_certificate' not in values and 'ca_private_key' not in values
    # an empty PEM is not given: the defaults of a role leave it empty when the path comes from the environment
    assert typed(ca_certificate='', ca_certificate_path=certificate_path)[1] == []


@pytest.mark.parametrize('rules, problem', [
    ({'count': {'pem': 'certificate'}}, 'rules.count.pem must be certificate or private_key, for a variable of type str or path'),
    ({'ca_certificate': {'pem': 'certificate'}, 'ca_private_key': {'pem': 'private_key', 'certificate': ['ca_certificate', 'count']}},
     'rules.ca_private_key.certificate must name a variable whose rule is pem: certificate (or a list of them)'),
    ({'ca_certificate': {'pem': 'certificate', 'exclusive': 'nothing'}}, 'rules.ca_certificate.exclusive must name a variable of the spec'),
])
def test_mistakes_of_the_new_rules_are_refused(rules, problem):
    assert problem in Typing(OPTIONS, 'x_', rules).config_problems()


def test_a_path_rule_needs_no_file_when_the_path_is_empty():
    values, problems = typed(ca_certificate_path='', ca_private_key_path='')
    assert problems == [] and values['ca_certificate_path'] == values['ca_private_key_path'] == ''
