# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Connection options of every Proxmox-API module (the action group C(storedesk.vdi.proxmox))."""

    DOCUMENTATION = r'''
options:
  api_host:
    description:
      - Host name or address of a node of the Proxmox VE cluster (one cluster per region).
      - The environment variable E(PROXMOX_HOST) is used when this is not set.
    type: str
    required: true
  api_port:
    description:
      - Port of the Proxmox VE API. Environment E(PROXMOX_PORT).
    type: int
    default: 8006
  api_user:
    description:
      - User for a password login, or owner of the API token, as C(user@realm).
      - Environment E(PROXMOX_USER).
    type: str
    default: root@pam
  api_password:
    description:
      - Password of O(api_user). One ticket is requested per module run.
      - Environment E(PROXMOX_PASSWORD), or E(PROXMOX_PASSWORD_FILE) naming a file that holds it. Prefer an API token.
    type: str
  api_token_id:
    description:
      - Name of the API token (C(storedesk)) or its full id (C(automation@pve!storedesk)).
      - With a token no login request is made at all. Environment E(PROXMOX_TOKEN_ID).
    type: str
  api_token_secret:
    description:
      - Secret (UUID) of the API token. Environment E(PROXMOX_TOKEN_SECRET), or E(PROXMOX_TOKEN_SECRET_FILE) naming a
        file that holds it (an AWX file injector; then only the path is in the job's environment and artifacts).
    type: str
  validate_certs:
    description:
      - Verify the API's TLS certificate. Keep it on; give the cluster CA with O(ca_path).
      - Environment E(PROXMOX_VALIDATE_CERTS).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA (or the self-signed certificate) of the cluster.
      - Environment E(PROXMOX_CA_PATH).
    type: path
  api_timeout:
    description:
      - Seconds to wait for one API answer. Environment E(PROXMOX_TIMEOUT).
    type: int
    default: 30
requirements:
  - requests
notes:
  - All modules of the action group C(storedesk.vdi.proxmox) accept these options, so they can be
    given once with C(module_defaults).
  - Reads and PVE's C(can't lock file ... got timeout) are retried with jittered backoff; other writes
    are not repeated once sent.
  - With O(api_password), a ticket that Proxmox VE refuses (HTTP 401, for example after its 2-hour life) is
    renewed once per request; a second refusal fails the task. API tokens are never renewed.
'''
