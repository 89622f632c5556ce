"""desktop_probe: each desktop may carry its own expected USB devices (one call across stores), checked up front."""

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils._probe import check_input, desktop_record


def run(name, vid_pids):
    return {'name': name, 'address': '10.0.0.1', 'ok': True, 'attempts': 1, 'elapsed': 0.1,
            'result': {'usb_devices': [{'vid_pid': v} for v in vid_pids]}}


def test_a_desktops_own_list_replaces_the_common_one():
    desktops, _payload, common = check_input(
        [{'name': 'sh-d01', 'address': 'a', 'expect_usb': ['05e0:1200']}, {'name': 'cd-d01', 'address': 'b'},
         {'name': 'hz-d01', 'address': 'c', 'expect_usb': []}], [], ['0A5F:0001'])
    assert common == ['0A5F:0001']
    assert [d['expected'] for d in desktops] == [['05E0:1200'], ['0A5F:0001'], []]
    sh = desktop_record(run('sh-d01', ['0A5F:0001']), desktops[0]['expected'])
    cd = desktop_record(run('cd-d01', ['0A5F:0001']), desktops[1]['expected'])
    assert sh['usb']['missing'] == ['05E0:1200'] and cd['usb']['missing'] == []


def test_a_bad_id_in_a_desktops_list_names_the_desktop():
    with pytest.raises(ValueError, match=r'desktops\[sh-d01\]\.expect_usb .*VVVV:PPPP.*05e0-1200'):
        check_input([{'name': 'sh-d01', 'address': 'a', 'expect_usb': ['05e0-1200']}], [], [])
