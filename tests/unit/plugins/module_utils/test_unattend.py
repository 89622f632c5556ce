"""The answer files golden_image generates (autounattend.xml for Setup, the sysprep unattend for the clones' OOBE),
checked against Microsoft's unattend reference, and the answer ISO read back with pycdlib.

Valid configuration passes per setting, from MicrosoftDocs commercialization-public
customize/desktop/unattend/<component>-<setting>.md ("Valid Configuration Passes"):
"""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import pycdlib
import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _answer_iso as iso_mod
from ansible_collections.storedesk.vdi.plugins.module_utils import _image_spec as spec_mod
from ansible_collections.storedesk.vdi.plugins.module_utils import _unattend as un
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError

NS = {'u': 'urn:schemas-microsoft-com:unattend'}
WCM = '{http://schemas.microsoft.com/WMIConfig/2002/State}'
PASSES = {'windowsPE', 'offlineServicing', 'generalize', 'specialize', 'auditSystem', 'auditUser', 'oobeSystem'}
# (component, first-level setting) -> valid passes, with the reference page each row comes from
VALID = {
    ('Microsoft-Windows-International-Core-WinPE', '*'): {'windowsPE'},               # international-core-winpe.md
    ('Microsoft-Windows-International-Core', '*'): {'specialize', 'oobeSystem'},     # international-core-winpe.md
    ('Microsoft-Windows-PnpCustomizationsWinPE', 'DriverPaths'): {'windowsPE'},      # pnpcustomizationswinpe-driverpaths.md
    ('Microsoft-Windows-Setup', 'DiskConfiguration'): {'windowsPE'},                 # setup-diskconfiguration.md
    ('Microsoft-Windows-Setup', 'ImageInstall'): {'windowsPE'},                      # setup-imageinstall.md
    ('Microsoft-Windows-Setup', 'UserData'): {'windowsPE'},                          # setup-userdata.md
    ('Microsoft-Windows-Shell-Setup', 'ComputerName'): {'offlineServicing', 'specialize'},   # shell-setup-computername.md
    ('Microsoft-Windows-Shell-Setup', 'TimeZone'): {'auditSystem', 'oobeSystem', 'specialize'},  # shell-setup-timezone.md
    ('Microsoft-Windows-Shell-Setup', 'OOBE'): {'oobeSystem'},                       # shell-setup-oobe.md
    ('Microsoft-Windows-Shell-Setup', 'UserAccounts'): {'auditSystem', 'oobeSystem'},  # shell-setup-useraccounts-localaccounts.md
    ('Microsoft-Windows-Shell-Setup', 'AutoLogon'): {'auditSystem', 'oobeSystem', 'specialize'},  # shell-setup-autologon.md
    ('Microsoft-Windows-Shell-Setup', 'FirstLogonCommands'): {'oobeSystem'},         # shell-setup-firstlogoncommands.md
    ('Microsoft-Windows-Deployment', 'RunSynchronous'): {'auditUser', 'specialize'},   # deployment-runsynchronous.md
    ('Microsoft-Windows-SecureStartup-FilterDriver', 'PreventDeviceEncryption'):
        {'offlineServicing', 'specialize', 'auditSystem', 'oobeSystem'},   # securestartup-filterdriver-preventdeviceencryption.md
}

ADMIN_PASSWORD = 'Adm1n<&>"pass'


def settings(**over):
    base = {'setup': True, 'oobe': True, 'language': 'de-DE', 'input_locale': 'de-DE', 'time_zone': 'W. Europe Standard Time',
            'edition': 'Windows 11 Pro', 'computer_name': '*', 'admin_user': 'storedesk-admin',
            'admin_password': ADMIN_PASSWORD, 'product_key': None, 'winrm_subnets': ['10.20.0.0/24', '10.30.1.5'],
            'prevent_device_encryption': True}
    base.update(over)
    return base


def parse(data):
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(data)
    assert root.tag == '{urn:schemas-microsoft-com:unattend}unattend'
    return root


def components(root):
    """{(pass, component name): element}; every component carries the attributes the reference shows."""
    out = {}
    for block in root.findall('u:settings', NS):
        assert block.get('pass') in PASSES
        for comp in block.findall('u:component', NS):
            assert (comp.get('processorArchitecture'), comp.get('publicKeyToken'), comp.get('language'),
                    comp.get('versionScope')) == ('amd64', '31bf3856ad364e35', 'neutral', 'nonSxS')
            key = (block.get('pass'), comp.get('name'))
            assert key not in out, 'component {0} twice in pass {1}'.format(key[1], key[0])
            out[key] = comp
    return out


def local(tag):
    return tag.split('}', 1)[1]


@pytest.mark.parametrize('make', [un.setup_xml, un.oobe_xml])
def test_every_setting_is_in_a_pass_the_reference_allows(make):
    comps = components(parse(make(settings())))
    assert comps
    for (pass_, name), comp in comps.items():
        for child in comp:
            rule = VALID.get((name, local(child.tag))) or VALID.get((name, '*'))
            assert rule is not None, 'no reference row for {0}/{1}'.format(name, local(child.tag))
            assert pass_ in rule, '{0}/{1} is not valid in {2}'.format(name, local(child.tag), pass_)


def test_setup_answers_every_screen_of_setup_for_a_uefi_vm_with_virtio():
    comps = components(parse(un.setup_xml(settings())))
    setup = comps[('windowsPE', 'Microsoft-Windows-Setup')]
    parts = [(p.findtext('u:Type', namespaces=NS), p.findtext('u:Size', namespaces=NS), p.findtext('u:Extend', namespaces=NS))
             for p in setup.iterfind('.//u:CreatePartition', NS)]
    assert parts == [('EFI', '100', None), ('MSR', '16', None), ('Primary', None, 'true')]
    formats = [(m.findtext('u:PartitionID', namespaces=NS), m.findtext('u:Format', namespaces=NS))
               for m in setup.iterfind('.//u:ModifyPartition', NS)]
    assert formats == [('1', 'FAT32'), ('3', 'NTFS')]
    assert setup.findtext('.//u:InstallTo/u:PartitionID', namespaces=NS) == '3'
    assert setup.findtext('.//u:MetaData/u:Value', namespaces=NS) == 'Windows 11 Pro'
    assert setup.findtext('.//u:UserData/u:AcceptEula', namespaces=NS) == 'true'
    assert setup.find('.//u:ProductKey', NS) is None
    paths = [p.text for p in comps[('windowsPE', 'Microsoft-Windows-PnpCustomizationsWinPE')].iterfind('.//u:Path', NS)]
    assert 'D:\\vioscsi\\w11\\amd64' in paths and 'J:\\NetKVM\\w11\\amd64' in paths
    keys = [p.get(WCM + 'keyValue') for p in comps[('windowsPE', 'Microsoft-Windows-PnpCustomizationsWinPE')]
            .iterfind('.//u:PathAndCredentials', NS)]
    assert len(keys) == len(set(keys))
    winpe = comps[('windowsPE', 'Microsoft-Windows-International-Core-WinPE')]
    assert winpe.findtext('u:SetupUILanguage/u:UILanguage', namespaces=NS) == 'de-DE'
    agent = comps[('specialize', 'Microsoft-Windows-Deployment')].findtext('.//u:Path', namespaces=NS)
    assert 'guest-agent\\qemu-ga-x86_64.msi' in agent and 'msiexec.exe /i' in agent


def test_clones_and_the_build_vm_get_the_admin_winrm_and_no_device_encryption():
    comps = components(parse(un.setup_xml(settings())))
    shell = comps[('oobeSystem', 'Microsoft-Windows-Shell-Setup')]
    account = shell.find('.//u:LocalAccount', NS)
    assert account.findtext('u:Name', namespaces=NS) == 'storedesk-admin'
    assert account.findtext('u:Group', namespaces=NS) == 'Administrators'
    hidden = account.findtext('u:Password/u:Value', namespaces=NS)
    assert base64.b64decode(hidden).decode('utf-16-le') == ADMIN_PASSWORD + 'Password'   # Windows SIM's hidden form
    assert account.findtext('u:Password/u:PlainText', namespaces=NS) == 'false'
    assert shell.findtext('u:AutoLogon/u:LogonCount', namespaces=NS) == '1'
    command = shell.findtext('.//u:FirstLogonCommands/u:SynchronousCommand/u:CommandLine', namespaces=NS)
    assert 'Enable-PSRemoting -Force -SkipNetworkProfileCheck' in command
    assert '-RemoteAddress 10.20.0.0/24,10.30.1.5 -Profile Any' in command and '-LocalPort 5985,5986' in command
    assert shell.findtext('u:OOBE/u:HideOnlineAccountScreens', namespaces=NS) == 'true'
    assert shell.findtext('u:TimeZone', namespaces=NS) == 'W. Europe Standard Time'
    for pass_ in ('specialize', 'oobeSystem'):
        assert comps[(pass_, 'Microsoft-Windows-SecureStartup-FilterDriver')].findtext(
            'u:PreventDeviceEncryption', namespaces=NS) == 'true'
    assert ADMIN_PASSWORD.encode() not in un.setup_xml(settings())


def test_the_clones_unattend_has_no_setup_pass_and_no_auto_logon():
    comps = components(parse(un.oobe_xml(settings())))
    assert set(p for p, _ in comps) == {'specialize', 'oobeSystem'}
    shell = comps[('oobeSystem', 'Microsoft-Windows-Shell-Setup')]
    assert shell.find('u:AutoLogon', NS) is None and shell.find('u:FirstLogonCommands', NS) is None
    assert shell.find('.//u:LocalAccount', NS) is not None
    assert comps[('specialize', 'Microsoft-Windows-Shell-Setup')].findtext('u:ComputerName', namespaces=NS) == '*'
    assert ('specialize', 'Microsoft-Windows-Deployment') not in comps


def test_the_answer_iso_reads_back_with_autounattend_at_its_root():
    xml = un.setup_xml(settings())
    data = iso_mod.pack({'autounattend.xml': xml})
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(data))
    try:
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, joliet_path='/autounattend.xml')
        assert out.getvalue() == xml
        names = [c.file_identifier().decode() for c in iso.list_children(iso_path='/') if c.is_file()]
        assert names == ['AUTOUNAT.XML;1']
        assert iso.pvd.volume_identifier.decode().strip() == 'STOREDESK_ANSWER'
    finally:
        iso.close()
    assert iso_mod.file_name('store', '1.3.0-rc.1') == 'storedesk-answer-store-1.3.0-rc.1.iso'


def params(**over):
    base = {'name': 'store', 'version': '1.1.0', 'node': 'pve-e1', 'storage': 'vdi-ceph',
            'source': {'iso': 'Win11_24H2_x64.iso', 'virtio_iso': 'virtio-win-0.1.271.iso'},
            'manifest': {}, 'retention': 3, 'winrm_user': 'storedesk-admin', 'winrm_password': 'Vault-Pass1',
            'unattend': {'winrm_subnets': ['10.20.0.0/24'], 'time_zone': 'UTC'}}
    base.update(over)
    return base


def test_an_iso_build_is_unattended_by_default_with_the_winrm_account_as_admin():
    """Defect 3 (nothing unattended): an ISO build without an answer ISO of its own gets a generated one."""
    spec = spec_mod.normalise(params())
    u = spec['unattend']
    assert u['setup'] and u['oobe']
    assert (u['admin_user'], u['admin_password']) == ('storedesk-admin', 'Vault-Pass1')
    clone = spec_mod.normalise(params(source={'vm': 'win11-base'}))
    assert not clone['unattend']['setup'] and clone['unattend']['oobe']
    own = spec_mod.normalise(params(source=dict(params()['source'], answer_iso='mine.iso')))
    assert not own['unattend']['setup']
    assert spec_mod.normalise(params(unattend={'enabled': False}))['unattend'] is None


def test_secrets_stay_out_of_the_manifest_hash():
    a = spec_mod.normalise(params())
    b = spec_mod.normalise(params(winrm_password='Another-Pass2'))
    assert a['hash'] == b['hash']
    c = spec_mod.normalise(params(unattend={'winrm_subnets': ['10.20.0.0/24'], 'time_zone': 'Pacific Standard Time'}))
    assert c['hash'] != a['hash']


@pytest.mark.parametrize('over,field', [
    ({'unattend': {}}, 'unattend.winrm_subnets'),
    ({'unattend': {'winrm_subnets': ['not a net']}}, 'unattend.winrm_subnets'),
    ({'winrm_password': None}, 'unattend.admin_password'),
    ({'unattend': {'winrm_subnets': ['10.0.0.0/8'], 'language': 'German'}}, 'unattend.language'),
    ({'unattend': {'winrm_subnets': ['10.0.0.0/8'], 'admin_user': 'bad[name]'}}, 'unattend.admin_user'),
    ({'unattend': {'winrm_subnets': ['10.0.0.0/8'], 'computer_name': 'much-too-long-name'}}, 'unattend.computer_name'),
    ({'unattend': {'winrm_subnets': ['10.0.0.0/8'], 'product_key': 'ABC'}}, 'unattend.product_key'),
])
def test_bad_unattend_input_names_the_field(over, field):
    with pytest.raises(InputError) as err:
        spec_mod.normalise(params(**over))
    assert str(err.value).startswith(field + ':'), str(err.value)
