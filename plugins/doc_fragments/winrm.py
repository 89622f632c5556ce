# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """WinRM options of every module that runs PowerShell on store desktops."""

    DOCUMENTATION = r'''
options:
  winrm_user:
    description:
      - Local administrator (or domain account) used on the desktops, as C(user), C(.\user) or C(DOMAIN\user).
      - Environment E(STOREDESK_WINRM_USER).
      - Required unless O(winrm_transport=kerberos) with a ticket cache.
    type: str
  winrm_password:
    description:
      - Password of O(winrm_user). Never returned, logged or put in an error message.
      - Environment E(STOREDESK_WINRM_PASSWORD), or E(STOREDESK_WINRM_PASSWORD_FILE) naming a file that holds it.
    type: str
  winrm_transport:
    description:
      - C(ntlm) authenticates with NTLM and, over C(http), encrypts every message (MS-WSMV), so a store
        network never sees a script or its answer in clear.
      - C(kerberos) needs the C(pywinrm[kerberos]) extra and a ticket; messages are encrypted as with NTLM.
      - C(basic) sends the password base64-encoded in every request. Use it only with O(winrm_scheme=https);
        Windows refuses it unless the WinRM service has C(Auth/Basic) (and, over http, C(AllowUnencrypted)) on.
    type: str
    choices: [ntlm, kerberos, basic]
    default: ntlm
  winrm_allow_basic_over_http:
    description:
      - O(winrm_transport=basic) with O(winrm_scheme=http) sends the password readable on the store network and
        is refused unless this is true (a lab or a test bench only).
    type: bool
    default: false
  winrm_scheme:
    description:
      - C(http) (port 5985) with message encryption, or C(https) (port 5986) with TLS.
    type: str
    choices: [http, https]
    default: http
  winrm_port:
    description:
      - WinRM port. Defaults to 5985 for C(http) and 5986 for C(https).
    type: int
  winrm_validate_certs:
    description:
      - Verify the desktop's TLS certificate when O(winrm_scheme=https). Keep it on and give the CA with
        O(winrm_ca_path).
    type: bool
    default: true
  winrm_ca_path:
    description:
      - PEM file with the CA that signed the desktops' WinRM certificates.
    type: path
  winrm_connection_timeout:
    description:
      - Seconds to wait for a TCP connection, and for each HTTP answer beyond the WS-Management wait.
        An unreachable desktop is reported after this (per attempt), not waited on.
    type: int
    default: 10
  winrm_operation_timeout:
    description:
      - Seconds a script may run on one desktop. A script still running then is stopped and the
        desktop reported as failed (not retried).
    type: int
    default: 120
  winrm_concurrency:
    description:
      - Desktops worked on at the same time.
      - From 200 desktops on, they are dealt over worker processes (one per 100 desktops, at most one per CPU
        core this process may use, at most 8) that together keep this limit; a WinRM client needs about 15 ms
        of CPU per desktop, so one process would be limited by its CPU, not by the network.
    type: int
    default: 20
  winrm_retries:
    description:
      - Extra attempts per desktop after a transient failure (connection refused or reset, time-out,
        HTTP 5xx), with jittered exponential backoff. Rejected credentials (HTTP 401) are never retried.
    type: int
    default: 2
requirements:
  - pywinrm >= 0.5 (with requests-ntlm; pyspnego)
notes:
  - One PowerShell script per desktop carries all the work of a task; its input travels as a JSON
    document, never as text pasted into the script.
  - Scripts too long for the Windows command line (8191 characters) are fed through standard input
    of the same WinRM command, so any size works with one extra round trip.
'''
