"""golden_image's desired state: versions, normalisation, the manifest hash and the description."""

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _image_sources as sources_mod
from ansible_collections.storedesk.vdi.plugins.module_utils import _image_spec as spec_mod
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError


SHARE = {'share_user': 'HQ\\svc-storedesk', 'share_password': 'Sh4re-Secret!'}


def params(**over):
    base = {'name': 'store', 'version': '1.1.0', 'node': 'pve-e1', 'storage': 'vdi-ceph',
            'source': {'iso': 'Win11_24H2_x64.iso', 'virtio_iso': 'virtio-win-0.1.271.iso'},
            'manifest': {'software': [{'name': '7-Zip', 'source': r'\\hq-files\sw\7z.msi', 'version': '24.08'}],
                         'drivers': [{'source': r'\\hq-files\drv\zebra', 'inf': 'ZDesigner.inf'}],
                         'registry': [{'path': r'HKLM:\SOFTWARE\Storedesk', 'name': 'Level', 'type': 'DWord',
                                       'value': '3'}],
                         'library': {'drive': 'm:', 'unc': '\\\\hq-files\\materials\\'}},
            'retention': 3, 'pinned': ['1.0.0'], 'on_failure': 'keep', 'winrm_user': 'storedesk-admin',
            'winrm_password': 'Vault-Pass1', 'unattend': {'winrm_subnets': ['10.20.0.0/24']}, **SHARE}
    base.update(over)
    return base


@pytest.mark.parametrize('text', ['1.2.0', '0.0.1', '10.20.30', '1.3.0-rc.1', '2.0.0-beta'])
def test_versions_accepted(text):
    assert spec_mod.parse_version(text)[:3] == tuple(int(x) for x in text.split('-')[0].split('.'))


@pytest.mark.parametrize('text', ['latest', '1.2', '1', 'v1.2.0', '1.2.0.4', '01.2.0', '1.2.0-RC1', '1.2.0 ', '',
                                  '1.2.0+build', '1.2.0-', '1..0'])
def test_not_a_version_is_rejected_with_the_fix(text):
    with pytest.raises(InputError) as err:
        spec_mod.parse_version(text)
    assert 'is not a version' in str(err.value) and 'MAJOR.MINOR.PATCH' in str(err.value)


def test_version_order_puts_prereleases_before_the_release():
    versions = ['1.10.0', '1.2.0', '1.2.0-rc.2', '1.2.0-rc.10', '0.9.0', '1.2.0-beta']
    assert sorted(versions, key=spec_mod.version_key) == [
        '0.9.0', '1.2.0-beta', '1.2.0-rc.2', '1.2.0-rc.10', '1.2.0', '1.10.0']


def test_normalise_fills_defaults_and_names():
    spec = spec_mod.normalise(params())
    assert spec['template_name'] == 'tpl-store-1.1.0' and spec['build_name'] == 'build-store-1.1.0'
    assert spec['source'] == {'kind': 'iso', 'iso': 'local:iso/Win11_24H2_x64.iso',
                              'virtio_iso': 'local:iso/virtio-win-0.1.271.iso', 'answer_iso': None}
    hw = spec['hardware']
    assert (hw['machine'], hw['bios'], hw['tpm'], hw['vga'], hw['scsihw']) == ('q35', 'ovmf', 'v2.0', 'qxl',
                                                                               'virtio-scsi-single')
    pkg = spec['manifest']['software'][0]
    assert pkg['kind'] == 'msi' and pkg['args'] == ['/qn', '/norestart'] and pkg['success_codes'] == [0, 3010]
    assert spec['manifest']['drivers'][0]['name'] == 'ZDesigner.inf'
    assert spec['manifest']['registry'][0]['value'] == 3
    assert spec['manifest']['library'] == {'drive': 'M:', 'unc': r'\\hq-files\materials', 'label': None}
    assert len(spec['hash']) == 64


def test_hash_ignores_placement_and_retention_but_not_content():
    a = spec_mod.normalise(params())
    b = spec_mod.normalise(params(node='pve-e2', storage='other', retention=5, pinned=[], on_failure='remove'))
    assert a['hash'] == b['hash']
    changed = params()
    changed['manifest']['software'][0]['version'] = '24.09'
    assert spec_mod.normalise(changed)['hash'] != a['hash']
    assert spec_mod.normalise(params(hardware={'memory': 16384}))['hash'] != a['hash']
    assert spec_mod.normalise(params(source={'vm': 'win11-base'}))['hash'] != a['hash']


@pytest.mark.parametrize('over,field', [
    ({'name': 'Store_1'}, 'name'),
    ({'version': 'latest'}, 'version'),
    ({'pinned': ['one']}, 'pinned'),
    ({'retention': 0}, 'retention'),
    ({'source': {'iso': 'w.iso', 'vm': 'base'}}, 'source'),
    ({'source': {'iso': 'w.iso'}}, 'source.virtio_iso'),
    ({'source': {'iso': 'local:images/w.qcow2', 'virtio_iso': 'v.iso'}}, 'source.iso'),
    ({'hardware': {'memory': 2048}}, 'hardware.memory'),
    ({'hardware': {'disk_gib': 32}}, 'hardware.disk_gib'),
    ({'manifest': {'software': [{'name': 'x', 'source': 'ftp://x/y.msi'}]}}, 'manifest.software[0].source'),
    ({'manifest': {'software': [{'name': 'x', 'source': r'\\a\b\x.exe', 'args': '/S'}]}}, 'manifest.software[0].args'),
    ({'manifest': {'software': [{'name': 'x', 'source': r'\\a\b\x.msi'}, {'name': 'x', 'source': r'\\a\b\y.msi'}]}},
     'manifest.software[1].name'),
    ({'manifest': {'drivers': [{'source': r'\\a\b', 'inf': 'driver.sys'}]}}, 'manifest.drivers[0].inf'),
    ({'manifest': {'registry': [{'path': r'HKCU:\X', 'name': 'a', 'value': 1}]}}, 'manifest.registry[0].path'),
    ({'manifest': {'registry': [{'path': r'HKLM:\X', 'name': 'a', 'type': 'DWord', 'value': 'x'}]}},
     'manifest.registry[0].value'),
    ({'manifest': {'files': [{'dest': 'relative.txt', 'content': 'x'}]}}, 'manifest.files[0].dest'),
    ({'manifest': {'library': {'drive': 'C:', 'unc': r'\\a\b'}}}, 'manifest.library.drive'),
    ({'manifest': {'sysprep': {'unattend': 'unattend.xml'}}}, 'manifest.sysprep.unattend'),
])
def test_bad_input_names_the_field(over, field):
    with pytest.raises(InputError) as err:
        spec_mod.normalise(params(**over))
    assert str(err.value).startswith(field + ':'), str(err.value)


def test_steps_one_per_package_then_grouped():
    spec = spec_mod.normalise(params(manifest={
        'software': [{'name': 'A', 'source': r'\\s\x\a.msi'}, {'name': 'B', 'source': 'https://r.example/b.exe'}],
        'drivers': [{'name': 'Zebra', 'source': r'\\s\d\z', 'inf': r'x64\z.inf'}],
        'registry': [{'path': r'HKDU:\Software\X', 'name': 'a', 'value': 'b'}, {'path': r'HKLM:\X', 'name': 'c',
                                                                                   'value': 'd'}],
        'files': [{'dest': r'C:\a.txt', 'content': 'x'}],
        'library': {'drive': 'M:', 'unc': r'\\s\m'}}))
    assert [(s['id'], s['kind']) for s in sources_mod.steps(spec)] == [
        ('software[0] A', 'software'), ('software[1] B', 'software'), ('drivers[0] Zebra', 'driver'),
        ('registry (2 settings)', 'registry'), ('files (1)', 'files'), ('library M:', 'library')]
    assert sources_mod.steps(spec)[1]['payload']['kind'] == 'exe'


def test_description_round_trips_hash_and_build_time():
    spec = spec_mod.normalise(params())
    text = spec_mod.description(spec, '2026-11-25T10:00:00Z')
    assert text.startswith('storedesk golden image store 1.1.0\n')
    assert '7-Zip 24.08' in text and 'M: -> ' in text
    assert spec_mod.parse_description(text) == {'hash': spec['hash'], 'built': '2026-11-25T10:00:00Z'}
    assert spec_mod.parse_description('seeded by hand') == {'hash': None, 'built': None}
    assert len(text) < 8192


def test_template_tags():
    assert spec_mod.template_tags('store', '1.1.0') == 'image-store;storedesk;v-1.1.0'
    assert spec_mod.template_tags('store', '1.1.0', pinned=True) == 'image-store;pinned;storedesk;v-1.1.0'


def test_a_unc_source_without_share_credentials_is_refused_as_a_second_hop():
    """Defect 1 (second hop): inside the WinRM session a UNC read is access denied; refused before anything runs."""
    for manifest, field in (({'software': [{'name': 'A', 'source': r'\\hq\sw\a.msi'}]}, 'manifest.software[0].source'),
                            ({'drivers': [{'source': r'\\hq\drv\z', 'inf': 'z.inf'}]}, 'manifest.drivers[0].source'),
                            ({'files': [{'dest': r'C:\a.txt', 'source': r'\\hq\f\a.txt'}]}, 'manifest.files[0].source')):
        with pytest.raises(InputError) as err:
            spec_mod.normalise(params(manifest=manifest, share_user=None, share_password=None))
        assert str(err.value).startswith(field + ':') and 'second hop' in str(err.value), str(err.value)
        assert 'share_user/share_password' in str(err.value)


def test_share_credentials_reach_only_the_steps_that_read_a_share_and_never_the_hash():
    spec = spec_mod.normalise(params(manifest={
        'software': [{'name': 'A', 'source': r'\\hq\sw\a.msi'}, {'name': 'B', 'source': '/srv/sw/b.exe'},
                     {'name': 'C', 'source': 'https://repo.example/c.msi'}]}))
    payloads = [s['payload'] for s in sources_mod.steps(spec)]
    assert payloads[0]['credential'] == {'user': 'HQ\\svc-storedesk', 'password': 'Sh4re-Secret!'}
    assert 'credential' not in payloads[1] and 'credential' not in payloads[2]
    assert [sources_mod.source_kind(p['source']) for p in payloads] == ['share', 'push', 'http']
    other = spec_mod.normalise(params(manifest={
        'software': [{'name': 'A', 'source': r'\\hq\sw\a.msi'}, {'name': 'B', 'source': '/srv/sw/b.exe'},
                     {'name': 'C', 'source': 'https://repo.example/c.msi'}]}, share_password='Another-1'))
    assert other['hash'] == spec['hash']
    assert 'Sh4re-Secret!' not in spec_mod.description(spec, 'now')
