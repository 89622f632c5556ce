"""The fake desktops' WinRM service keeps Windows' rules, driven with pywinrm's own Protocol:
- shells: the per-user quota (MicrosoftDocs/win32 desktop-src/WinRM/quotas.md: MaxShellsPerUser, default 30),
  a shell belongs to the user who created it, no shell survives a reboot of the VM;
- the service's defaults (win32 desktop-src/WinRM/installation-and-configuration-for-windows-remote-management.md,
  "WinRM service" settings): AllowUnencrypted false (no clear-text SOAP over http, whatever the authentication),
  Basic false (not even over HTTPS), MaxEnvelopeSizekb; only the desktop's own accounts log on, with the
  channel binding of the listener's certificate over HTTPS."""

from __future__ import annotations

import time

import pytest
import winrm
from winrm.exceptions import WSManFaultError

from storedesk_lab.windows import auth, server, wsman
from storedesk_lab.windows.testing import FleetThread, StubPve, self_signed_cert

USERS = {'shell-quota': 'Shell-Quota-1!', 'shell-other': 'Shell-Other-1!'}   # accounts of their own (NTLM file)
ADDRESS = '127.0.94.21'
OPENED = []


@pytest.fixture
def fleet(tmp_path):
    pve = StubPve(time_scale=0.0)
    pve.add(311, 'store-009-desk-11')
    thread = FleetThread(pve, users=USERS, tls=self_signed_cert(str(tmp_path), hosts=[ADDRESS]))
    thread.attach(311, ADDRESS)
    try:
        yield thread
    finally:
        for client in OPENED:             # keep-alive connections closed before the fleet's loop
            if client.transport.session is not None:
                client.transport.session.close()
        del OPENED[:]
        thread.close()


def protocol(user, password=None, **kwargs):
    kwargs.setdefault('transport', 'ntlm')
    scheme, port = ('https', 5986) if kwargs.pop('https', False) else ('http', 5985)
    client = winrm.Protocol('{0}://{1}:{2}/wsman'.format(scheme, ADDRESS, port), username=user,
                            password=password or USERS[user], **kwargs)
    OPENED.append(client)
    return client


def test_a_user_gets_30_shells_then_the_quota_fault(fleet):
    quota, other = protocol('shell-quota'), protocol('shell-other')
    shells = [quota.open_shell() for _ in range(30)]
    with pytest.raises(WSManFaultError) as err:
        quota.open_shell()
    assert err.value.wsman_fault_code == wsman.SHELL_QUOTA and err.value.fault_subcode == 'w:QuotaLimit'
    assert 'maximum number of 30 concurrent shells' in err.value.reason
    other.close_shell(other.open_shell())              # the quota is per user
    quota.close_shell(shells.pop())
    shells.append(quota.open_shell())                  # a closed shell gives its place back
    assert len(fleet.fleet.endpoints[311].shells) == 30 == server.MAX_SHELLS_PER_USER


def test_a_shell_belongs_to_the_user_who_created_it(fleet):
    shell = protocol('shell-quota').open_shell()
    with pytest.raises(WSManFaultError) as err:
        protocol('shell-other').run_command(shell, 'ipconfig')
    assert err.value.wsman_fault_code == wsman.SHELL_NOT_FOUND


def test_no_shell_survives_a_reboot(fleet):
    quota = protocol('shell-quota')
    shell = quota.open_shell()
    vm = fleet.fleet.pve.vm(311)
    vm.stop()
    vm.start()
    vm.started_at = time.time() - 60          # booted (boot_secs are scaled by time_scale 0)
    with pytest.raises(WSManFaultError) as err:
        quota.run_command(shell, 'ipconfig')
    assert err.value.wsman_fault_code == wsman.SHELL_NOT_FOUND


def refused(client):
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        client.open_shell()


def test_clear_text_soap_over_http_is_refused_even_after_ntlm(fleet):
    desktop = fleet.desktop(311)
    refused(protocol('shell-quota', message_encryption='never'))
    assert 'soap_plain' not in desktop.stats and not fleet.fleet.endpoints[311].shells
    protocol('shell-quota').open_shell()                      # sealed: fine
    assert desktop.stats['soap_encrypted'] >= 1


def test_basic_is_off_even_over_https(fleet):
    https = dict(transport='basic', https=True, server_cert_validation='ignore')
    refused(protocol('shell-quota', **https))
    fleet.desktop(311).allow_basic = True
    protocol('shell-quota', **https).open_shell()


def test_an_account_of_another_desktop_does_not_log_on(fleet):
    auth.register_users({'shell-stranger': 'Shell-Stranger-1!'})     # known to the process's NTLM file only
    refused(protocol('shell-stranger', password='Shell-Stranger-1!'))


def test_ntlm_over_https_checks_the_binding_of_the_listeners_certificate(fleet):
    """Channel binding (tls-server-end-point, RFC 5929): a client that saw another certificate (a TLS-
    intercepting proxy) is refused; `CbtHardeningLevel` on the installation-and-configuration page."""
    import spnego
    from spnego.channel_bindings import GssChannelBindings

    seen_elsewhere = GssChannelBindings(application_data=b'tls-server-end-point:' + b'\x01' * 32)
    outcomes = []
    for bindings in (fleet.fleet.channel_bindings, seen_elsewhere):
        client = spnego.client('shell-quota', USERS['shell-quota'], protocol='ntlm', channel_bindings=bindings)
        server = auth.ntlm_acceptor(fleet.fleet.channel_bindings)
        challenge = server.step(client.step())
        try:
            server.step(client.step(challenge))
            outcomes.append(server.complete)
        except spnego.exceptions.SpnegoError:
            outcomes.append(False)
    assert outcomes == [True, False]


def test_a_soap_message_over_max_envelope_size_is_refused_and_the_runner_stays_under_it(fleet):
    """MaxEnvelopeSizekb, default 150 KB (win32 installation-and-configuration page; Windows 10/Server 2019 and
    later ship 500): a bigger request is answered HTTP 413 (ansible-collections/ansible.windows#391,
    masterzen/winrm#156). One Send of 200 KB of stdin is refused; the runner feeds a 400 KB script in chunks."""
    from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_scripts as ps
    from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import WinrmOptions, run_on_desktops

    client = protocol('shell-quota')
    shell = client.open_shell()
    command = client.run_command(shell, 'powershell', ['-NoProfile', '-Command', '-'], console_mode_stdin=False)
    with pytest.raises(winrm.exceptions.WinRMTransportError) as err:
        client.send_command_input(shell, command, b'#' * 200 * 1024, end=True)
    assert err.value.code == 413
    big = ps.PROBE + ('# ' + 'padding ' * 12 + '\n') * (400 * 1024 // 100)
    options = WinrmOptions(user='shell-quota', password=USERS['shell-quota'], connection_timeout=3,
                           operation_timeout=10, retries=0).checked()
    [record] = run_on_desktops(options, [{'name': 'store-009-desk-11', 'address': ADDRESS}], big, {'backends': []})
    assert record['ok'], record
    assert fleet.desktop(311).stats['wsman:Send'] >= 400 * 1024 // server.MAX_ENVELOPE_BYTES
