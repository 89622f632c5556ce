# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_image's argument spec (private); documented in plugins/doc_fragments/golden_image.py.

Defaults that depend on other values (msi arguments, kind from the file name) are filled in by
_image_spec.normalise, which also checks everything the argspec cannot.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

HARDWARE = dict(
    memory=dict(type='int', default=8192),
    cores=dict(type='int', default=4),
    sockets=dict(type='int', default=1),
    cpu=dict(type='str', default='x86-64-v2-AES'),
    disk_gib=dict(type='int', default=64),
    bridge=dict(type='str', default='vmbr0'),
    vlan=dict(type='int'),
)

SOURCE = dict(
    iso=dict(type='str'),
    virtio_iso=dict(type='str'),
    answer_iso=dict(type='str'),
    iso_storage=dict(type='str', default='local'),
    vm=dict(type='str'),
)

MANIFEST = dict(
    software=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        source=dict(type='str', required=True),
        version=dict(type='str'),
        kind=dict(type='str', choices=['msi', 'exe']),
        args=dict(type='list', elements='str'),
        success_codes=dict(type='list', elements='int'),
        publisher=dict(type='str'),
        timeout=dict(type='int', default=1800),
    )),
    drivers=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str'),
        source=dict(type='str', required=True),
        inf=dict(type='str', required=True),
    )),
    registry=dict(type='list', elements='dict', default=[], options=dict(
        path=dict(type='str', required=True),
        name=dict(type='str', required=True),
        type=dict(type='str', default='String',
                  choices=['String', 'ExpandString', 'DWord', 'QWord', 'MultiString', 'Binary']),
        value=dict(type='raw', required=True),
    )),
    files=dict(type='list', elements='dict', default=[], options=dict(
        dest=dict(type='str', required=True),
        content=dict(type='str'),
        source=dict(type='str'),
    ), mutually_exclusive=[('content', 'source')], required_one_of=[('content', 'source')]),
    library=dict(type='dict', options=dict(
        drive=dict(type='str', required=True),
        unc=dict(type='str', required=True),
        label=dict(type='str'),
    )),
    sysprep=dict(type='dict', default={}, options=dict(
        mode_vm=dict(type='bool', default=False),
        unattend=dict(type='str'),
    )),
)

UNATTEND = dict(
    enabled=dict(type='bool', default=True),
    language=dict(type='str', default='en-US'),
    input_locale=dict(type='str'),
    time_zone=dict(type='str', default='UTC'),
    edition=dict(type='str', default='Windows 11 Pro'),
    product_key=dict(type='str', no_log=True),
    computer_name=dict(type='str', default='*'),
    admin_user=dict(type='str'),
    admin_password=dict(type='str', no_log=True),
    winrm_subnets=dict(type='list', elements='str', default=[]),
    prevent_device_encryption=dict(type='bool', default=True),
)

TIMEOUTS = dict(
    guest_ip=dict(type='int', default=3600),
    winrm=dict(type='int', default=900),
    sysprep=dict(type='int', default=1800),
    task=dict(type='int', default=900),
)

IMAGE_ARGSPEC = dict(
    name=dict(type='str', required=True),
    version=dict(type='str', required=True),
    node=dict(type='str', required=True),
    storage=dict(type='str', required=True),
    hardware=dict(type='dict', default={}, options=HARDWARE),
    source=dict(type='dict', required=True, options=SOURCE, mutually_exclusive=[('iso', 'vm')],
                required_one_of=[('iso', 'vm')]),
    manifest=dict(type='dict', default={}, options=MANIFEST),
    retention=dict(type='int', default=3),
    pinned=dict(type='list', elements='str', default=[]),
    on_failure=dict(type='str', default='keep', choices=['keep', 'remove']),
    timeouts=dict(type='dict', default={}, options=TIMEOUTS),
    unattend=dict(type='dict', default={}, options=UNATTEND),
    share_user=dict(type='str', fallback=(env_fallback, ['STOREDESK_SHARE_USER'])),
    share_password=dict(type='str', no_log=True, fallback=(env_fallback, ['STOREDESK_SHARE_PASSWORD'])),
)
