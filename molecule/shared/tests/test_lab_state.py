"""What the chain left on the lab, read back through the PVE API and from the files it wrote.

Runs as molecule's testinfra verifier (the `host` fixture is the controller); the lab's credentials come
from the environment scripts/molecule.sh exported from lab/.state/lab.env.
"""

import glob
import json
import os
import re

import requests
import yaml

ROOT = os.environ['MOLECULE_PROJECT_DIRECTORY']
INVENTORY = os.path.join(ROOT, 'inventories', 'lab')
REPORTS = os.path.join(ROOT, 'reports', 'molecule-' + os.environ['MOLECULE_SCENARIO_NAME'])
SECRETS = [os.environ[k] for k in ('PROXMOX_PASSWORD', 'PROXMOX_TOKEN_SECRET', 'STOREDESK_WINRM_PASSWORD',
                                   'STOREDESK_STAFF_PASSWORD') if os.environ.get(k)]


def api(region, path, **params):
    host = os.environ['PROXMOX_HOST_' + region.upper()]
    port = os.environ['PROXMOX_PORT_' + region.upper()]
    token = 'PVEAPIToken={0}={1}'.format(os.environ['PROXMOX_TOKEN_ID'], os.environ['PROXMOX_TOKEN_SECRET'])
    answer = requests.get('https://{0}:{1}/api2/json{2}'.format(host, port, path), params=params,
                          headers={'Authorization': token}, verify=os.environ['PROXMOX_CA_PATH'], timeout=30)
    answer.raise_for_status()
    return answer.json()['data']


def guests(region):
    """The region's guests as a user checks them: the list from /cluster/resources (existence, node, pool, lock and
    tags are live there), name and template from each config, status from status/current - the list's own are
    pvestatd's RRD cache, ~10 s old on PVE (pve-manager PVE/API2Tools.pm extract_vm_stats)."""
    out = []
    for vm in api(region, '/cluster/resources', type='vm'):
        if vm.get('type') != 'qemu':
            continue
        base = '/nodes/{0}/qemu/{1}'.format(vm['node'], vm['vmid'])
        config = api(region, base + '/config')
        out.append(dict(vm, name=config.get('name'), template=int(config.get('template') or 0),
                        status=api(region, base + '/status/current').get('status')))
    return out


def load(*parts):
    with open(os.path.join(INVENTORY, *parts)) as fh:
        return yaml.safe_load(fh) or {}


def stores():
    """store code -> region, from the inventory's region_<name> groups."""
    out = {}

    def walk(group, region=None):
        for name, child in (group.get('children') or {}).items():
            walk(child or {}, name[len('region_'):] if name.startswith('region_') else region)
        for code in group.get('hosts') or {}:
            if region:
                out[code] = region
    walk(load('hosts.yml')['all']['children']['stores'])
    return out


def desired(code):
    desk = dict(load('group_vars', 'stores', 'main.yml')['store_desktops'])
    if os.path.exists(os.path.join(INVENTORY, 'host_vars', code + '.yml')):
        desk.update(load('host_vars', code + '.yml').get('store_desktops') or {})
    return desk['baseline'] + desk['spares']


def version():
    """The chain image version: the inventory's value, or the default of its image_version template."""
    value = str(load('group_vars', 'all', 'catalog.yml')['storedesk_image']['version'])
    found = re.search(r"default\('([^']+)'\)", value)
    return found.group(1) if found else value


def test_every_store_has_its_pool_at_baseline_on_the_chain_image(host):
    for region in sorted(set(stores().values())):
        vms = [v for v in guests(region) if not v.get('template')]
        for code, where in stores().items():
            if where != region:
                continue
            mine = [v for v in vms if v.get('pool') == 'store-' + code]
            assert len(mine) == desired(code), code
            assert all('v-' + version() in v.get('tags', '').split(';') for v in mine), code
            assert all(v['status'] == 'running' for v in mine), code
            assert len(set(v['node'] for v in mine)) > 1, '{0}: desktops spread over nodes'.format(code)
            assert not [v for v in mine if v.get('lock')], '{0}: nothing left locked'.format(code)


def test_golden_image_template_in_every_region(host):
    for region in sorted(set(stores().values())):
        templates = [v for v in guests(region) if v.get('template')]
        assert [v for v in templates if 'v-' + version() in v.get('tags', '').split(';')], region


def test_reports_written_for_every_phase(host):
    for phase in ('assessment', 'pilot', 'rollout'):
        pages = sorted(glob.glob(os.path.join(REPORTS, phase + '-*.html')))
        assert pages, phase
        assert host.file(pages[-1]).contains('class="verdict ok"'), phase
    with open(sorted(glob.glob(os.path.join(REPORTS, 'pilot-*.json')))[-1]) as fh:
        assert json.load(fh)['gate']['passed'] is True


def test_audit_log_has_changes_and_no_secrets(host):
    log = host.file(os.path.join(REPORTS, 'audit.jsonl'))
    assert log.exists and log.mode == 0o600
    text = log.content_string
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(str(line.get('module', '')).endswith('desktop_pool') for line in lines)
    for secret in SECRETS:
        assert secret not in text
