#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: golden_image
short_description: Build, version, pin and retire the Windows golden image of a Proxmox VE region
version_added: 0.1.0
description:
  - Builds one version of a Windows 11 golden image in one Proxmox VE cluster and keeps its versions tidy.
  - "The build - create a build VM C(build-<name>-<version>) from an installer ISO (with the virtio-win ISO) or
    as a full clone of a base VM; start it; wait for the guest agent's IP address, then for WinRM; apply the
    manifest over WinRM one step at a time (software, drivers, registry, files, material library), each step
    one script run whose result is returned; generalize with sysprep; wait until the VM has powered off;
    convert it to a template named C(tpl-<name>-<version>), tagged C(storedesk), C(image-<name>),
    C(v-<version>), with a manifest summary and its SHA-256 in the description."
  - Idempotent - a template of the version whose manifest hash equals the requested one is not rebuilt. A
    different manifest under an existing version is an error. A new version is built beside the old ones.
  - Retention keeps the newest O(retention) versions and removes older ones, except versions in use by a
    desktop, pinned or protected; RV(kept) says why each remaining version stays.
  - A failed build never leaves a template of the version - the build VM is kept for inspection (renamed
    C(failed-<name>-<version>)) or removed (O(on_failure)), and the error names the step with Windows' message.
  - Build several regions from one manifest with the role C(storedesk.vdi.golden_image)
    (C(playbooks/build_image.yml)); compare regions with M(storedesk.vdi.golden_image_info).
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.proxmox
  - storedesk.vdi.winrm
  - storedesk.vdi.golden_image
attributes:
  check_mode:
    support: full
    description:
      - Reads the region, checks the node, storage, bridge (and VLAN tag) on that node, ISOs or clone source a
        build would use, and returns the plan (build, up to date, versions to remove, pin tags to change) without
        writing anything.
  diff_mode:
    support: full
    description: The image's versions (template and pinned state) before and after.
requirements:
  - requests
  - pywinrm >= 0.5 (only when a version is built)
notes:
  - The build VM needs DHCP and a route to the software sources; the template keeps no CD-ROM image.
  - Over WinRM the module talks to the build VM at the address its guest agent reports, with the O(winrm_user)
    account the answer file or base VM created.
'''

EXAMPLES = r'''
- name: Build store image 1.1.0 in the east region from the Windows ISO
  storedesk.vdi.golden_image:
    api_host: pve-east.example.com
    name: store
    version: 1.1.0
    node: pve-e1
    storage: vdi-ceph
    hardware: {memory: 8192, cores: 4, disk_gib: 64}
    source:
      iso: Win11_24H2_x64.iso
      virtio_iso: virtio-win-0.1.271.iso
      answer_iso: storedesk-autounattend.iso
    manifest:
      software:
        - name: 7-Zip 24.08 (x64 edition)
          version: 24.08.00.0
          source: \\hq-files.example\software\7z2408-x64.msi
        - name: POS Client
          source: \\hq-files.example\software\pos-client-5.2.exe
          args: [/S, /ALLUSERS]
      drivers:
        - {name: Zebra ZD421, source: \\hq-files.example\drivers\zebra-zd421, inf: ZDesigner.inf}
      registry:
        - {path: HKLM:\SOFTWARE\Policies\Microsoft\Edge, name: HideFirstRunExperience, type: DWord, value: 1}
      library: {drive: "M:", unc: \\hq-files.example\materials, label: Materials}
    retention: 3
    pinned: [1.0.0]
    winrm_user: storedesk-admin
    winrm_password: "{{ vault_winrm_password }}"
  register: image

- name: Show each step of the build
  ansible.builtin.debug:
    msg: "{{ image.build.steps | map(attribute='step') | list if image.build else 'up to date' }}"

- name: What would change (check mode)
  storedesk.vdi.golden_image:
    name: store
    version: 1.2.0
    node: pve-e1
    storage: vdi-ceph
    source: {vm: win11-base}
    manifest: "{{ storedesk_image_manifest.manifest }}"
  check_mode: true
  register: plan
'''

RETURN = r'''
plan:
  description:
    - The plan - C(action) (C(build), C(up_to_date), or C(unverified) for a template without a manifest hash),
      C(template), C(hash), C(remove) (versions, oldest first), C(keep) (versions with their reasons),
      C(tags) (pin tag changes) and C(warnings).
    - When a build failed, C(failure) - C(step) (the manifest step, when one failed), C(stage), C(build_vm)
      (vmid, node, name, C(outcome) kept or removed, C(answer_iso) - C(removed), or C(NOT removed) and why - when
      the build uploaded one) and the C(steps) that ran with their results.
  returned: always
  type: dict
image:
  description: Image name.
  returned: always
  type: str
version:
  description: Requested version.
  returned: always
  type: str
hash:
  description: SHA-256 of the requested manifest (hardware, source, manifest).
  returned: always
  type: str
template:
  description: The template of the requested version (C(vmid), C(name), C(node), C(version), C(hash), C(built),
    C(pinned)); null in check mode before a build.
  returned: always
  type: dict
  sample: {vmid: 101, name: tpl-store-1.1.0, node: pve-e1, version: 1.1.0, hash: 9f2c..., built: '2026-11-25T10:02:11Z',
           pinned: false}
build:
  description:
    - The build, when one ran - C(vm) (vmid, node, name), C(address), C(elapsed) seconds, and C(steps), one
      record per manifest step and sysprep with C(step), C(kind), C(ok), C(changed), C(elapsed) and the
      script's C(result) (for software C(action), C(exit_code), C(reboot_required); for drivers
      C(published_name)).
    - C(answer_iso) - C(removed), or C(NOT removed) and why (also a warning - delete it, it holds the local
      administrator's password), or null when the build uploaded no answer ISO. C(warnings) lists such notes.
  returned: always
  type: dict
removed:
  description: Versions removed by retention, with their templates.
  returned: always
  type: list
  elements: dict
  sample: [{version: 0.9.0, templates: [tpl-store-0.9.0]}]
kept:
  description: Every remaining version with why it stays (requested, within retention, pinned, in use, protected).
  returned: always
  type: list
  elements: dict
  sample: [{version: 1.0.0, templates: [tpl-store-1.0.0], reasons: [pinned, 'in use by 12 desktop(s): ...']}]
pins:
  description: Templates whose C(pinned) tag was set or removed.
  returned: always
  type: list
  elements: dict
users:
  description: Per version, the desktops using it and their stores.
  returned: always
  type: dict
  sample: {1.0.0: {desktops: 12, stores: [sh-0001, sh-0002]}}
api_requests:
  description: Proxmox API requests made.
  returned: success
  type: int
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.storedesk.vdi.plugins.module_utils._image_apply import run
from ansible_collections.storedesk.vdi.plugins.module_utils._image_args import IMAGE_ARGSPEC
from ansible_collections.storedesk.vdi.plugins.module_utils._image_spec import normalise
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_args import winrm_argspec, winrm_options


def execute(module, client):
    spec = normalise(module.params)

    def options():
        from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import HAS_WINRM
        if not HAS_WINRM:
            module.fail_json(msg=missing_required_lib('pywinrm'))
        try:
            opts = winrm_options(module.params)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        for warning in opts.warnings():
            module.warn(warning)
        return opts

    result = run(client, spec, check_mode=module.check_mode, diff_mode=module._diff, winrm_options=options)
    for warning in result['plan']['warnings'] + ((result.get('build') or {}).get('warnings') or []):
        module.warn(warning)
    return result


def main():
    run_module(pve_module(winrm_argspec(**IMAGE_ARGSPEC)), execute)


if __name__ == '__main__':
    main()
