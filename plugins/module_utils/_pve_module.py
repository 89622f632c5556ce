# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Proxmox-API module of storedesk.vdi shares (private): the connection argspec,
the one client of the process, and the single place where typed errors become fail_json."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ._pve_client import HAS_REQUESTS, PveClient
from ._pve_errors import StoredeskError

PVE_ARGSPEC = dict(
    api_host=dict(type='str', required=True, fallback=(env_fallback, ['PROXMOX_HOST'])),
    api_port=dict(type='int', default=8006, fallback=(env_fallback, ['PROXMOX_PORT'])),
    api_user=dict(type='str', default='root@pam', fallback=(env_fallback, ['PROXMOX_USER'])),
    api_password=dict(type='str', no_log=True, fallback=(env_fallback, ['PROXMOX_PASSWORD'])),
    api_token_id=dict(type='str', no_log=False, fallback=(env_fallback, ['PROXMOX_TOKEN_ID'])),
    api_token_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['PROXMOX_TOKEN_SECRET'])),
    validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['PROXMOX_VALIDATE_CERTS'])),
    ca_path=dict(type='path', fallback=(env_fallback, ['PROXMOX_CA_PATH'])),
    api_timeout=dict(type='int', default=30, fallback=(env_fallback, ['PROXMOX_TIMEOUT'])),
)

PVE_REQUIRED_TOGETHER = [('api_token_id', 'api_token_secret')]


def pve_argspec(**extra):
    """The connection options merged with a module's own."""
    spec = dict(PVE_ARGSPEC)
    spec.update(extra)
    return spec


def pve_module(argument_spec, supports_check_mode=True, **kwargs):
    """An AnsibleModule with the connection options; fails early when credentials are missing."""
    kwargs.setdefault('required_together', []).extend(PVE_REQUIRED_TOGETHER)
    module = AnsibleModule(argument_spec=pve_argspec(**argument_spec), supports_check_mode=supports_check_mode,
                           **kwargs)
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'))
    params = module.params
    if not params['api_password'] and not params['api_token_id']:
        module.fail_json(msg='no credentials for the Proxmox API: set api_password (env PROXMOX_PASSWORD) or '
                             'api_token_id and api_token_secret (env PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET)')
    return module


def client_from_module(module):
    """The one client of this module process."""
    p = module.params
    return PveClient(p['api_host'], port=p['api_port'], user=p['api_user'], password=p['api_password'],
                     token_id=p['api_token_id'], token_secret=p['api_token_secret'],
                     validate_certs=p['validate_certs'], ca_path=p['ca_path'], timeout=p['api_timeout'])


def run_module(module, execute):
    """Call execute(module, client) and exit with its result dict; any StoredeskError is one fail_json."""
    client = client_from_module(module)
    try:
        result = execute(module, client)
    except StoredeskError as exc:
        fields = {'msg': str(exc)}
        fields.update((k, v) for k, v in exc.details.items() if k in ('plan', 'desktops', 'stores', 'failed'))
        module.fail_json(**fields)
    except Exception as exc:  # noqa: BLE001 - a bug must still end as one readable error
        module.fail_json(msg='unexpected error: {0}'.format(exc), exception=traceback.format_exc())
    finally:
        client.close()
    module.exit_json(**result)
