# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The entry shape of every storedesk.vdi module (private): the Proxmox connection argspec, the client(s)
of the process, and run_module, the single place where typed errors become fail_json."""

from __future__ import annotations

import os
import traceback

from ansible.module_utils.basic import AnsibleFallbackNotFound, AnsibleModule, env_fallback, missing_required_lib

from ._pve_client import HAS_REQUESTS, PveClient
from ._pve_errors import InputError, StoredeskError
from ._secret_env import secret_fallback


def set_env_fallback(*names):
    """env_fallback for which an empty variable is not set, like secret_fallback: PROXMOX_TOKEN_ID='' and
    PROXMOX_TOKEN_SECRET='' mean "no token" (the password is used), not a token id without its secret."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


PVE_ARGSPEC = dict(
    api_host=dict(type='str', required=True, fallback=(env_fallback, ['PROXMOX_HOST'])),
    api_port=dict(type='int', default=8006, fallback=(env_fallback, ['PROXMOX_PORT'])),
    api_user=dict(type='str', default='root@pam', fallback=(env_fallback, ['PROXMOX_USER'])),
    api_password=dict(type='str', no_log=True, fallback=(secret_fallback, ['PROXMOX_PASSWORD'])),
    api_token_id=dict(type='str', no_log=False, fallback=(set_env_fallback, ['PROXMOX_TOKEN_ID'])),
    api_token_secret=dict(type='str', no_log=True, fallback=(secret_fallback, ['PROXMOX_TOKEN_SECRET'])),
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
                             'api_token_id and api_token_secret (env PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET, or '
                             'PROXMOX_PASSWORD_FILE / PROXMOX_TOKEN_SECRET_FILE naming a readable file)')
    return module


def client_from_module(module, host=None, port=None):
    """The one client of this module process (the default `connect` of run_module); host/port: a region's."""
    p = module.params
    return PveClient(host or p['api_host'], port=port or p['api_port'], user=p['api_user'], password=p['api_password'],
                     token_id=p['api_token_id'], token_secret=p['api_token_secret'],
                     validate_certs=p['validate_certs'], ca_path=p['ca_path'], timeout=p['api_timeout'])


def optional_client(module):
    """A client when api_host is given, else None (WinRM modules that resolve a store through the API)."""
    return client_from_module(module) if module.params.get('api_host') else None


def region_clients(module):
    """{region name: client}, one per entry of `regions` (same credentials), or the one api_host as a region."""
    p = module.params
    regions = p['regions'] or [{'name': p['region'] or p['api_host'], 'api_host': p['api_host'],
                                'api_port': p['api_port']}]
    names = [r['name'] for r in regions]
    if len(set(names)) != len(names):
        raise InputError('regions: every region needs its own name ({0})'.format(', '.join(names)))
    return dict((r['name'], client_from_module(module, r['api_host'], r['api_port'])) for r in regions)


def no_client(module):
    """For modules that talk to no API (the controller only)."""
    return None


def _close(clients):
    for client in (clients.values() if isinstance(clients, dict) else [clients]):
        if client is not None:
            client.close()


def run_module(module, execute, connect=client_from_module, required_libs=None):
    """The entry of every module: main() is run_module(<the AnsibleModule>, execute[, connect]).

    `connect(module)` opens what execute talks to (one PVE client by default; optional_client, region_clients,
    no_client); execute(module, clients) returns the result dict (it may fail_json itself when a failure carries
    a result). Any StoredeskError, from connect or execute, is one fail_json; the clients are closed either way.
    `required_libs` {name: importable} fails first with missing_required_lib."""
    for name, present in sorted((required_libs or {}).items()):
        if not present:
            module.fail_json(msg=missing_required_lib(name))
    clients = None
    try:
        clients = connect(module)
        result = execute(module, clients)
    except StoredeskError as exc:
        fields = {'msg': str(exc)}
        fields.update((k, v) for k, v in exc.details.items() if k in ('plan', 'desktops', 'stores', 'failed'))
        module.fail_json(**fields)
    except Exception as exc:  # noqa: BLE001 - a bug must still end as one readable error
        module.fail_json(msg='unexpected error: {0}'.format(exc), exception=traceback.format_exc())
    finally:
        _close(clients)
    module.exit_json(**result)
