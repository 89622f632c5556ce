"""desktop_access against the lab: .vv and .rdp files are well-formed INI/RDP and point at the right desktop."""

import configparser
import json
import os
import stat

import pytest

from conftest import api, api_get, run_module
from test_inventory_desktops import clone_desktop

# vmid, node, store, role, started
DESKTOPS = [(7301, 'pve-e2', 'sh-0003', 'desktop', True), (7302, 'pve-e3', 'sh-0003', 'desktop', True),
            (7303, 'pve-e1', 'sh-0003', 'desktop', False), (7304, 'pve-e1', 'sh-0003', 'spare', True)]


@pytest.fixture(scope='module')
def store(lab):
    existing = set(r['vmid'] for r in api_get(api(lab, 'east'), '/cluster/resources', type='vm'))
    for vmid, node, code, role, start in DESKTOPS:
        if vmid not in existing:
            clone_desktop(lab, vmid, 'east', node, code, 'shanghai', role, start)
    return lab


def parse_vv(path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return parser['virt-viewer']


def parse_rdp(path):
    with open(path, newline='') as fh:
        text = fh.read()
    assert text.endswith('\r\n') and '\n' not in text.replace('\r\n', '')
    out = {}
    for line in text.split('\r\n')[:-1]:
        name, kind, value = line.split(':', 2)
        assert kind in ('i', 's'), line
        out[name] = int(value) if kind == 'i' else value
    return out


def test_spice_vv_for_one_desktop(store, tmp_path):
    pve = store.regions['east']
    pve.requests.clear()
    rc, result = run_module(store, 'desktop_access', {'desktop': 'sh-0003-d7301', 'dest': str(tmp_path),
                                                      'kiosk': True})
    assert rc == 0, result['_stdout']
    assert result['changed'] and [f['vmid'] for f in result['files']] == [7301]
    path = result['files'][0]['path']
    assert path == str(tmp_path / 'sh-0003-d7301.vv')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    vv = parse_vv(path)
    assert vv['title'] == 'VM 7301 - sh-0003-d7301'
    assert vv['fullscreen'] == '1' and vv['enable-usb-autoshare'] == '1' and vv['delete-this-file'] == '1'
    for key in ('type', 'host', 'password', 'proxy'):
        assert key in vv
    # The ticket was asked of the desktop's own node, through the API host as proxy.
    posts = [(p, b) for m, p, b in pve.requests if m == 'POST']
    assert [p for p, _b in posts] == ['/api2/json/nodes/pve-e2/qemu/7301/spiceproxy']
    assert pve.host.encode() in posts[0][1]
    assert vv['password'] not in json.dumps({k: v for k, v in result.items() if not k.startswith('_')})


def test_spice_weak_link_settings(store, tmp_path):
    rc, result = run_module(store, 'desktop_access', {'desktop': '7302', 'dest': str(tmp_path), 'weak_link': True,
                                                      'spice_options': {'usb-filter': '-1,-1,-1,-1,1'}})
    assert rc == 0, result['_stdout']
    vv = parse_vv(result['files'][0]['path'])
    assert (vv['enable-usbredir'], vv['enable-usb-autoshare'], vv['enable-smartcard']) == ('1', '1', '0')
    assert vv['color-depth'] == '16' and vv['usb-filter'] == '-1,-1,-1,-1,1'
    assert 'fullscreen' not in vv


def test_rdp_files_for_a_store_point_at_each_desktop_and_kiosk_terminals(store, tmp_path):
    args = {'store': 'sh-0003', 'protocol': 'rdp', 'dest': str(tmp_path / 'sh-0003'), 'weak_link': True,
            'audio_mode': 'remote', 'terminals': [{'name': 'till1', 'desktop': 'sh-0003-d7302'}, {'name': 'till2'}]}
    rc, result = run_module(store, 'desktop_access', args)
    assert rc == 0 and 'files' in result, result['_stdout'] + result['_stderr']
    assert sorted(f['vmid'] for f in result['files']) == [7301, 7302]          # spare 7304 not asked for
    assert [s['vmid'] for s in result['unavailable']] == [7303] and 'not running' in result['unavailable'][0]['reason']
    for entry in result['files']:
        rdp = parse_rdp(entry['path'])
        assert rdp['full address'] == store.regions['east'].ip_of(entry['vmid'])
        assert rdp['audiomode'] == 1 and rdp['redirectprinters'] == 1 and rdp['usbdevicestoredirect'] == '*'
        assert rdp['connection type'] == 2 and rdp['session bpp'] == 16
        assert stat.S_IMODE(os.stat(entry['path']).st_mode) == 0o600
    kiosk = dict((k['terminal'], k) for k in result['kiosk'])
    assert kiosk['till1']['desktop'] == 'sh-0003-d7302' and kiosk['till2']['desktop'] == 'sh-0003-d7301'
    with open(str(tmp_path / 'sh-0003' / 'kiosk-till2.json')) as fh:
        written = json.load(fh)
    assert written['spiceproxy_path'] == '/nodes/pve-e2/qemu/7301/spiceproxy' and written['fullscreen'] is True
    # Same inputs, same RDP files: nothing changes; check mode agrees.
    rc, again = run_module(store, 'desktop_access', args)
    assert rc == 0 and again['changed'] is False
    rc, checked = run_module(store, 'desktop_access', dict(args, dest=str(tmp_path / 'new')), check=True)
    assert rc == 0 and checked['changed'] is True and not (tmp_path / 'new').exists()


def test_unknown_desktop_is_one_clear_error(store, tmp_path):
    rc, result = run_module(store, 'desktop_access', {'desktop': 'nope-d01', 'dest': str(tmp_path)})
    assert rc != 0 and 'desktop nope-d01 not found' in result['msg']
