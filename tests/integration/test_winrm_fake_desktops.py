"""pywinrm (through the runner and desktop_probe's logic) against the fake Windows desktops.

Every test talks HTTP to fake desktops on loopback; desktop state is checked through the fake's model.
"""

from __future__ import annotations

import json
import time

import pytest

from conftest_winrm import ECHO, PASSWORD, USER, lab, options, padded  # noqa: F401 - lab is a fixture

import winrm
from winrm.exceptions import WSManFaultError

from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_scripts as ps
from ansible_collections.storedesk.vdi.plugins.module_utils._probe import probe_desktops
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import run_on_desktops, with_input
from storedesk_lab.windows import Faults, UserProfile

HOSTILE = 'it\'s "$(Remove-Item C:\\ -Recurse)" `n; exit 1; \r\n$env:X & | @{a=1} \u00e9\u2713'

# A short script (fits the command line) for a test-only contract: echoes its input back.
# A script short enough for the command line: the shipped wrapper alone (about 2,700 characters, 7,000 once
# encoded) no longer fits, so this one follows the runner's contract by hand.
ECHO_SHORT = r'''# storedesk-script: test-echo-short/1
$StoredeskRequest = ConvertFrom-Json -InputObject ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($StoredeskInput)))
Write-Output (ConvertTo-Json -Compress -Depth 10 -InputObject @{ ok = $true; changed = $false; result = $StoredeskRequest })
'''


@pytest.fixture(autouse=True)
def fresh(lab):  # noqa: F811
    for vmid, desktop in lab['fleet'].fleet.desktops.items():
        desktop.faults = Faults()
        desktop.stats.clear()
        desktop.allow_basic = desktop.allow_unencrypted = False
        desktop.receive_chunk = 4096
        lab['pve'].vm(vmid).status = 'running'
        lab['pve'].vm(vmid).started_at = time.time() - 3600
    lab['pve'].time_scale = 0.0
    yield


def desk(lab, *vmids):  # noqa: F811
    return [{'name': lab['pve'].vm(v).config['name'], 'address': lab['addr'][v]} for v in vmids]


def test_probe_over_ntlm_with_message_encryption(lab):  # noqa: F811
    fleet = lab['fleet']
    d1 = fleet.desktop(201)
    d1.network.update({'pos.retail.example': 23.4, 'slow.example': 5000})
    d1.printers['Receipts'] = {'driver': 'EPSON TM-T88', 'port': 'IP_10.1.0.50', 'shared': False}
    d1.profiles = [UserProfile('S-1-5-21-1-2-3-1001', 'cashier', loaded=True, default_printer='Receipts',
                               mapped_drives={'S:': '\\\\fs001\\store'})]
    d1.default_user.default_printer = 'Receipts'
    fleet.fleet.share_spice(201, '05e0:1200')
    backends = [{'name': HOSTILE, 'host': 'pos.retail.example', 'port': 443},
                {'name': 'slow', 'host': 'slow.example', 'port': 443, 'timeout_ms': 1000},
                {'name': 'dns', 'host': 'nowhere.example', 'port': 443}]
    result = probe_desktops(options(), desk(lab, 201, 202), backends, ['0A5F:0001', '04b8:0202', '05E0:1200',
                                                                      'DEAD:BEEF'])
    assert result['summary'] == {'total': 2, 'reachable': 2, 'unreachable': 0, 'usb_missing': 2,
                                 'backend_failures': 2}
    # what reached the desktop: the exact JSON document, hostile name intact
    name, request = d1.scripts_run[-1]
    assert name == 'probe/1' and request['backends'][0]['name'] == HOSTILE
    # every SOAP message was sealed with NTLM; none went in clear
    assert d1.stats['soap_encrypted'] >= 4 and 'soap_plain' not in d1.stats
    first = result['desktops'][0]
    assert first['usb']['present'] == ['0A5F:0001', '04B8:0202', '05E0:1200']   # host=, mapping=, spice
    assert first['usb']['missing'] == ['DEAD:BEEF']
    assert result['desktops'][1]['usb']['missing'] == ['0A5F:0001', '04B8:0202', '05E0:1200', 'DEAD:BEEF']
    assert [p['name'] for p in first['printers']] == sorted(d1.printers)
    assert {'sid': 'S-1-5-21-1-2-3-1001', 'user': 'cashier', 'printer': 'Receipts', 'source': 'loaded'} \
        in first['default_printers']
    assert first['mapped_drives'] == [{'sid': 'S-1-5-21-1-2-3-1001', 'user': 'cashier', 'letter': 'S:',
                                       'path': '\\\\fs001\\store'}]
    by_name = dict((b['name'], b) for b in first['backends'])
    assert by_name[HOSTILE]['ok'] and by_name[HOSTILE]['latency_ms'] == 23.4
    assert by_name['slow']['error'].startswith('No connection within 1000 ms')
    assert by_name['dns']['error'] == 'No such host is known'
    assert first['os']['build'] == d1.os_build and first['computer_name'] == d1.computer_name == 'STORE-001-DESK'


def test_hostile_values_round_trip_through_json(lab):  # noqa: F811
    payload = {'text': HOSTILE, 'list': [HOSTILE, "'", '"', '`', '$()', ';', '\n'], 'nested': {HOSTILE: HOSTILE}}
    [rec] = run_on_desktops(options(), desk(lab, 203), ECHO, payload)
    assert rec['ok'], rec
    assert rec['result'] == payload
    assert lab['fleet'].desktop(203).scripts_run[-1] == ('test-echo/1', payload)


def test_short_script_on_the_command_line_long_one_through_stdin(lab):  # noqa: F811
    fleet = lab['fleet']
    payload = {'x': HOSTILE}
    [short] = run_on_desktops(options(), desk(lab, 203), ECHO_SHORT, payload)
    assert fleet.desktop(203).stats.get('wsman:Send', 0) == 0
    [long] = run_on_desktops(options(), desk(lab, 204), padded(ECHO), payload)
    assert fleet.desktop(204).stats['wsman:Send'] == 1
    assert short['ok'] and long['ok'] and short['result'] == long['result'] == payload
    [probe] = run_on_desktops(options(), desk(lab, 205), ps.PROBE, {'backends': []})
    [big] = run_on_desktops(options(), desk(lab, 205), padded(ps.PROBE, 20000), {'backends': []})
    assert len(padded(ps.PROBE, 20000)) >= 20000 and probe['result'] == big['result']


def test_windows_refuses_a_command_line_over_8191_characters(lab):  # noqa: F811
    session = winrm.Session('http://{0}:5985/wsman'.format(lab['addr'][203]), auth=(USER, PASSWORD),
                            transport='ntlm')
    response = session.run_ps(with_input(padded(ECHO, 5000), {}))   # pywinrm's own way: -encodedcommand
    assert response.status_code == 1
    assert response.std_err.strip() == b'The command line is too long.'


def test_output_split_over_several_receives(lab):  # noqa: F811
    fleet = lab['fleet']
    fleet.desktop(203).receive_chunk = 64
    payload = {'blob': 'x' * 2000}
    [rec] = run_on_desktops(options(), desk(lab, 203), ECHO, payload)
    assert rec['ok'] and rec['result'] == payload
    assert fleet.desktop(203).stats['wsman:Receive'] > 20


def test_wrong_password_is_a_clear_per_desktop_error_and_not_retried(lab):  # noqa: F811
    bad = 'Wrong-Secret-123'
    [rec] = run_on_desktops(options(password=bad), desk(lab, 203), ECHO, {})
    assert not rec['ok'] and rec['error_category'] == 'auth' and rec['attempts'] == 1
    assert "credentials rejected (HTTP 401) for user 'storedesk'" in rec['error']
    assert bad not in json.dumps(rec)


def test_basic_only_when_the_desktop_allows_it(lab):  # noqa: F811
    fleet = lab['fleet']
    with pytest.raises(ValueError, match='winrm_allow_basic_over_http'):     # refused before any connection
        options(transport='basic')
    basic = dict(transport='basic', allow_basic_http=True)
    [refused] = run_on_desktops(options(**basic), desk(lab, 203), ECHO, {'a': 1})
    assert refused['error_category'] == 'auth' and refused['attempts'] == 1   # Basic off (Windows default)
    fleet.desktop(203).allow_basic = True
    [still] = run_on_desktops(options(**basic), desk(lab, 203), ECHO, {'a': 1})
    assert still['error_category'] == 'auth'                                  # AllowUnencrypted off
    fleet.desktop(203).allow_unencrypted = True
    [rec] = run_on_desktops(options(**basic), desk(lab, 203), ECHO, {'a': 1})
    assert rec['ok'] and rec['result'] == {'a': 1}
    assert fleet.desktop(203).stats['soap_plain'] >= 3 and 'soap_encrypted' not in fleet.desktop(203).stats
    assert options(**basic).warnings()


def test_https_validates_the_certificate(lab):  # noqa: F811
    fleet = lab['fleet']
    fleet.desktop(204).allow_basic = True   # Basic over TLS: no AllowUnencrypted needed
    [ntlm] = run_on_desktops(options(scheme='https', ca_path=lab['ca']), desk(lab, 204), ECHO, {'t': 1})
    [basic] = run_on_desktops(options(scheme='https', ca_path=lab['ca'], transport='basic'), desk(lab, 204), ECHO,
                              {'t': 2})
    assert ntlm['result'] == {'t': 1} and basic['result'] == {'t': 2}
    [untrusted] = run_on_desktops(options(scheme='https'), desk(lab, 204), ECHO, {})
    assert untrusted['error_category'] == 'tls' and untrusted['attempts'] == 1


def test_stopped_suspended_and_booting_desktops_are_unreachable(lab):  # noqa: F811
    pve = lab['pve']
    pve.vm(204).status = 'stopped'
    pve.vm(205).lock = 'suspended'
    pve.time_scale = 0.01            # boot_secs 100 -> 1 s of wall time
    pve.vm(206).started_at = time.time()
    started = time.monotonic()
    recs = run_on_desktops(options(retries=1), desk(lab, 203, 204, 205, 206), ECHO, {})
    pve.vm(205).lock = None
    assert time.monotonic() - started < 5
    assert recs[0]['ok']
    for rec in recs[1:]:
        assert not rec['ok'] and rec['error_category'] == 'unreachable' and rec['attempts'] == 2, rec
    time.sleep(max(0.0, pve.vm(206).started_at + 1.05 - time.time()))
    [booted] = run_on_desktops(options(), desk(lab, 206), ECHO, {'up': True})
    assert booted['ok'] and booted['result'] == {'up': True}


def test_connection_reset_mid_command_is_retried_then_reported(lab):  # noqa: F811
    fleet = lab['fleet']
    fleet.desktop(203).faults.reset_mid_command = 1       # once: the retry succeeds
    fleet.desktop(204).faults.reset_mid_command = -1      # always: reported after the retries
    recs = run_on_desktops(options(), desk(lab, 203, 204, 205), ECHO, {'n': 1})
    assert recs[0]['ok'] and recs[0]['attempts'] == 2
    assert not recs[1]['ok'] and recs[1]['error_category'] == 'connection' and recs[1]['attempts'] == 3
    assert recs[2]['ok'] and recs[2]['attempts'] == 1
    assert fleet.desktop(204).stats['wsman:Command'] == 3


def test_not_idempotent_script_is_not_rerun_after_its_command_was_sent(lab):  # noqa: F811
    lab['fleet'].desktop(203).faults.reset_mid_command = 1
    [rec] = run_on_desktops(options(), desk(lab, 203), ECHO, {}, idempotent=False)
    assert not rec['ok'] and rec['attempts'] == 1 and lab['fleet'].desktop(203).stats['wsman:Command'] == 1


def test_http_500_is_transient(lab):  # noqa: F811
    lab['fleet'].desktop(203).faults.http_500 = 1
    [rec] = run_on_desktops(options(), desk(lab, 203), ECHO, {'k': 1})
    assert rec['ok'] and rec['attempts'] == 2


def test_command_exceeding_the_operation_timeout(lab):  # noqa: F811
    fleet = lab['fleet']
    fleet.desktop(203).faults.hang = True
    started = time.monotonic()
    recs = run_on_desktops(options(operation_timeout=2), desk(lab, 203, 204), ECHO, {})
    assert time.monotonic() - started < 6
    assert recs[0]['error_category'] == 'timeout' and recs[0]['attempts'] == 1
    assert 'winrm_operation_timeout' in recs[0]['error']
    assert recs[1]['ok']
    assert fleet.desktop(203).stats['wsman:Signal'] == 1           # the hung command was stopped
    assert not fleet.fleet.endpoints[203].shells                   # and its shell deleted


def test_non_json_answer(lab):  # noqa: F811
    lab['fleet'].desktop(203).faults.garbage_output = 'WARNING: something printed this\r\n'
    recs = run_on_desktops(options(), desk(lab, 203, 204), ECHO, {})
    assert recs[0]['error_category'] == 'protocol' and recs[0]['attempts'] == 1
    assert 'did not answer with a JSON document' in recs[0]['error']
    assert recs[1]['ok']


def test_shell_not_found_is_the_windows_fault(lab):  # noqa: F811
    protocol = winrm.Protocol('http://{0}:5985/wsman'.format(lab['addr'][203]), transport='ntlm',
                              username=USER, password=PASSWORD)
    with pytest.raises(WSManFaultError) as err:
        protocol.run_command('00000000-0000-0000-0000-000000000000', 'ipconfig')
    assert err.value.wsman_fault_code == 2150858843 and err.value.fault_subcode == 'w:InvalidSelectors'


def test_mixed_fleet_and_no_password_anywhere(lab, capsys):  # noqa: F811
    fleet = lab['fleet']
    fleet.desktop(203).faults.garbage_output = PASSWORD
    fleet.desktop(204).faults.reset_mid_command = -1
    lab['pve'].vm(205).status = 'stopped'
    result = probe_desktops(options(), desk(lab, 201, 202, 203, 204, 205, 206), [], [])
    assert [d['ok'] for d in result['desktops']] == [True, True, False, False, False, True]
    assert [u['name'] for u in result['unreachable_desktops']] == ['store-002-desk-01', 'store-002-desk-02',
                                                          'store-003-desk-01']
    assert PASSWORD not in json.dumps(result) and PASSWORD not in capsys.readouterr().out
    assert PASSWORD not in repr(options())


def test_module_main_end_to_end(lab, capsys):  # noqa: F811
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.storedesk.vdi.plugins.modules import desktop_probe

    lab['pve'].vm(205).status = 'stopped'
    args = {'desktops': desk(lab, 203, 205), 'winrm_user': USER, 'winrm_password': PASSWORD, 'winrm_retries': 0,
            'winrm_connection_timeout': 3, 'expect_usb': ['0a5f:0001'], '_ansible_check_mode': True}
    with patch_module_args(args), pytest.raises(SystemExit) as done:
        desktop_probe.main()
    out = json.loads(capsys.readouterr().out)
    assert done.value.code == 0 and not out['changed'] and out['summary']['reachable'] == 1
    assert out['desktops'][0]['usb']['missing'] == ['0A5F:0001']
    with patch_module_args(dict(args, fail_on_unreachable=True)), pytest.raises(SystemExit) as done:
        desktop_probe.main()
    text = capsys.readouterr().out
    out = json.loads(text)
    assert done.value.code == 1 and out['failed']
    assert out['msg'].startswith('1 of 2 desktops could not be probed: store-003-desk-01 (')
    assert PASSWORD not in text
