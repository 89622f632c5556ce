# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WinRM connection options shared by every module that talks to desktops (private).

Documented by the doc fragment ``storedesk.vdi.winrm``; turned into runner options by
``winrm_options(params)``.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ._secret_env import secret_fallback

WINRM_ARGSPEC = dict(
    winrm_user=dict(type='str', fallback=(env_fallback, ['STOREDESK_WINRM_USER'])),
    winrm_password=dict(type='str', no_log=True, fallback=(secret_fallback, ['STOREDESK_WINRM_PASSWORD'])),
    winrm_transport=dict(type='str', default='ntlm', choices=['ntlm', 'kerberos', 'basic']),
    winrm_scheme=dict(type='str', default='http', choices=['http', 'https']),
    winrm_port=dict(type='int'),
    winrm_validate_certs=dict(type='bool', default=True),
    winrm_ca_path=dict(type='path'),
    winrm_connection_timeout=dict(type='int', default=10),
    winrm_operation_timeout=dict(type='int', default=120),
    winrm_concurrency=dict(type='int', default=20),
    winrm_retries=dict(type='int', default=2),
    winrm_allow_basic_over_http=dict(type='bool', default=False),
)

# Runner error categories that mean "the desktop was not reached (off, booting, network)": reported, and a task
# fails on them only when asked (fail_on_unreachable). Every other category - auth (credentials rejected), tls
# (certificate not trusted), wsman, script, config - is a failure of the task.
UNREACHABLE_CATEGORIES = ('unreachable', 'connection', 'timeout')


def winrm_argspec(**extra):
    """The WinRM options merged with a module's own."""
    spec = dict(WINRM_ARGSPEC)
    spec.update(extra)
    return spec


def winrm_options(params):
    """Runner options from module params (keys winrm_*); raises ValueError naming the bad option."""
    from ._winrm_runner import WinrmOptions  # late: keeps this file importable without pywinrm

    return WinrmOptions(
        user=params.get('winrm_user'),
        password=params.get('winrm_password'),
        transport=params.get('winrm_transport') or 'ntlm',
        scheme=params.get('winrm_scheme') or 'http',
        port=params.get('winrm_port'),
        validate_certs=params.get('winrm_validate_certs', True),
        ca_path=params.get('winrm_ca_path'),
        connection_timeout=params.get('winrm_connection_timeout') or 10,
        operation_timeout=params.get('winrm_operation_timeout') or 120,
        concurrency=params.get('winrm_concurrency') or 20,
        retries=params.get('winrm_retries', 2),
        allow_basic_http=bool(params.get('winrm_allow_basic_over_http')),
    ).checked()
