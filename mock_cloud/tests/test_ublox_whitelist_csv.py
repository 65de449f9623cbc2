"""u-blox /device/whitelist/add in its CSV form (seed 002): Content-Type application/octet-stream, header Id,Type,Action."""

import pytest

from .helpers import ublox_login

ROT = '0002000089280087'
ROT_2 = '135700008928c093'
IMEI = '862618583984360'
HEADER = 'Id,Type,Action\n'


@pytest.fixture
def upload(mock, http):
    """``upload(text, content_type=...)``: a logged-in POST of a CSV file to /device/whitelist/add."""
    token = ublox_login(http, mock)['AuthToken']

    def call(text, content_type='application/octet-stream', token=token):
        data = text.encode('utf-8') if isinstance(text, str) else text
        return http.post(mock.url + '/ublox/v1/device/whitelist/add', data=data,
                         headers={'Authorization': token, 'Content-Type': content_type})
    return call


def whitelist(ublox):
    return sorted((entry['Type'], entry['Id']) for entry in ublox('/device/whitelist/get', {}).json()['DeviceWhitelist'])


def test_rows_add_and_delete_in_one_upload(upload, ublox, mock):
    assert ublox('/device/whitelist/add', {'IMEIs': [IMEI], 'ROTPublicUIDs': ['00ff']}).status_code == 200
    mock.admin.reset_counters()
    answer = upload(HEADER + '%s,ROTPublicUID,ADD\r\n%s,ROTPublicUID,ADD\n\n00FF,ROTPublicUID,DELETE\n' % (ROT, ROT_2.upper()))
    assert answer.status_code == 200 and answer.json() == {'message': 'Success'}
    assert whitelist(ublox) == [('IMEI', IMEI), ('ROTPublicUID', ROT), ('ROTPublicUID', ROT_2)]
    assert mock.admin.counters()['endpoints']['ublox POST /v1/device/whitelist/add'] == 1
    # the same file again changes nothing; a DELETE of an entry that is not there is not an error (as in JSON)
    assert upload(HEADER + '%s,ROTPublicUID,ADD\nffff,ROTPublicUID,DELETE\n' % ROT).status_code == 200
    assert len(whitelist(ublox)) == 3


def test_thousands_of_rows_in_one_request(upload, ublox, mock):
    rots = ['%016x' % (0xa0000000 + n) for n in range(5000)]
    mock.admin.reset_counters()
    assert upload(HEADER + ''.join('%s,ROTPublicUID,ADD\n' % rot for rot in rots)).status_code == 200
    assert ublox('/device/whitelist/get', {}).json()['TotalRecords'] == 5000
    assert mock.admin.counters()['endpoints']['ublox POST /v1/device/whitelist/add'] == 1


def test_header_quotes_and_bom(upload, ublox):
    assert upload('\ufeffid, TYPE ,action\n"%s","ROTPublicUID","ADD"\n' % ROT).status_code == 200
    assert whitelist(ublox) == [('ROTPublicUID', ROT)]


@pytest.mark.parametrize('text, words', [
    ('', 'header Id,Type,Action'),
    ('%s,ROTPublicUID,ADD\n' % ROT, 'header Id,Type,Action'),
    ('Id,Action,Type\n%s,ADD,ROTPublicUID\n' % ROT, 'header Id,Type,Action'),
    (HEADER, 'no data rows'),
    (HEADER + '%s,IMEI,ADD\n' % IMEI, "row 2: Type 'IMEI' is not supported; the only Type of the CSV upload is ROTPublicUID"),
    (HEADER + '%s,ROTPublicUID,ADD\nxyz,ROTPublicUID,ADD\n' % ROT, "row 3: Id 'xyz' is not a ROTPublicUID"),
    (HEADER + '%s,ROTPublicUID,add\n' % ROT, "row 2: Action 'add' must be ADD or DELETE"),
    (HEADER + '%s,ROTPublicUID\n' % ROT, 'row 2: has 2 fields; each row is Id,Type,Action'),
    (HEADER + '%s,ROTPublicUID,ADD,extra\n' % ROT, 'row 2: has 4 fields'),
])
def test_bad_files_are_refused_whole(upload, ublox, text, words):
    answer = upload(text)
    assert answer.status_code == 400, answer.text
    assert answer.json()['message'].startswith('Bad Request. ') and words in answer.json()['message']
    assert whitelist(ublox) == []  # all or nothing: the good rows of a bad file are not applied


def test_every_bad_row_is_named_up_to_ten(upload):
    text = HEADER + ''.join('xyz%d,ROTPublicUID,ADD\n' % n for n in range(12))
    message = upload(text).json()['message']
    assert 'row 2:' in message and 'row 11:' in message and 'row 12:' not in message and message.endswith(' and 2 more')


def test_not_utf8_too_large_and_unauthenticated(upload):
    assert upload(b'Id,Type,Action\n\xff\xfe,ROTPublicUID,ADD\n').status_code == 400
    too_large = upload(HEADER + 'a' * (10 * 1024 * 1024))
    assert too_large.status_code == 413 and too_large.json() == {'message': 'Request Entity Too Large'}
    assert upload(HEADER + '%s,ROTPublicUID,ADD\n' % ROT, token='not-a-token').status_code == 401


def test_csv_needs_octet_stream(upload, ublox):
    # another Content-Type is read as JSON, which a CSV file is not: the plain 400 of a body that is not JSON
    answer = upload(HEADER + '%s,ROTPublicUID,ADD\n' % ROT, content_type='text/csv')
    assert answer.status_code == 400 and answer.json() == {'message': 'Bad Request'}
    assert upload(HEADER + '%s,ROTPublicUID,ADD\n' % ROT, content_type='application/octet-stream; charset=binary').status_code == 200
    assert whitelist(ublox) == [('ROTPublicUID', ROT)]
