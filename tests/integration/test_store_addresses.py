"""Static desktop addresses skip what the store reserves: read back from each desktop's config through the API."""

import ipaddress

import yaml

from conftest import api, api_get, run_playbook

IMAGE = {'name': 'store', 'version': '1.0.0'}


def test_desktop_40_does_not_take_a_printers_address(lab, tmp_path):
    pve = lab.regions['east']
    host = {'store_region': 'east', 'store_city': 'testcity', 'store_subnet': '10.97.1.0/24', 'store_vlan': 2971,
            'store_desktops': {'baseline': 1, 'event': 40, 'spares': 0}, 'store_image': IMAGE,
            'store_devices': {'printers': [{'name': 'Receipt', 'host': '10.97.1.50'},
                                           {'name': 'Labels', 'host': '10.97.1.51'}]},
            'store_reserved_addresses': ['10.97.1.30']}
    inv = tmp_path / 'inventory.yml'
    inv.write_text(yaml.safe_dump({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
                 'storedesk_regions': {'east': {'api_host': pve.host, 'api_port': pve.port}}},
        'children': {'stores': {'hosts': {'ts-0001': host}}}}}))
    proc = run_playbook(lab, 'playbooks/scale_event.yml', {'stores': 'ts-0001', 'store_pool_addressing': 'static',
                                                           'report_dir': str(tmp_path / 'reports')},
                        args=['-i', str(inv)])
    assert proc.returncode == 0, proc.stdout[-3000:]
    session = api(lab)
    addresses = {}
    for item in api_get(session, '/cluster/resources', type='vm'):
        if 'store-ts-0001' not in (item.get('tags') or ''):
            continue
        config = api_get(session, '/nodes/{0}/qemu/{1}/config'.format(item['node'], item['vmid']))
        ip = config['ipconfig0'].split(',')[0].split('=')[1].split('/')[0]
        addresses[config['name']] = ip
    assert len(addresses) == 40
    taken = set(addresses.values())
    assert len(taken) == 40
    assert not taken & {'10.97.1.1', '10.97.1.30', '10.97.1.50', '10.97.1.51'}, sorted(taken)
    assert addresses['ts-0001-d01'] == '10.97.1.11'
    assert addresses['ts-0001-d40'] == '10.97.1.53'      # .11-.53 less .30, .50 and .51
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network('10.97.1.0/24') for a in taken)
