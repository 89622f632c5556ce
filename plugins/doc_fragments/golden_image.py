# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Options of storedesk.vdi.golden_image (kept here so the module stays short)."""

    DOCUMENTATION = r'''
options:
  name:
    description:
      - Name of the golden image, e.g. C(store). Lower-case letters, digits and C(-).
      - Templates are named C(tpl-<name>-<version>) and tagged C(storedesk), C(image-<name>), C(v-<version>).
    type: str
    required: true
  version:
    description:
      - The version to build or keep, C(MAJOR.MINOR.PATCH) with an optional lower-case C(-prerelease)
        (C(1.2.0), C(1.3.0-rc.1)). Anything else is rejected. Quote it in YAML.
      - Versions are immutable. An existing template of this version built from the same manifest is left
        as it is; one built from another manifest makes the task fail (give the change a new version).
    type: str
    required: true
  node:
    description: The node that builds the image (and holds the template).
    type: str
    required: true
  storage:
    description:
      - Storage of the build VM's disks and so of the template (content C(images)). Use shared storage
        (Ceph RBD) so linked clones can start on every node.
    type: str
    required: true
  hardware:
    description:
      - The hardware profile. Fixed parts, not options - machine C(q35), OVMF with an EFI disk
        (C(efitype=4m,pre-enrolled-keys=1)), TPM 2.0 (C(tpmstate0 version=v2.0)), C(virtio-scsi-single)
        with the system disk on C(scsi0) (iothread, discard), a C(virtio) NIC, C(qxl) display for SPICE and
        the QEMU guest agent on, OS type C(win11).
    type: dict
    default: {}
    suboptions:
      memory:
        description: Memory in MiB (at least 4096).
        type: int
        default: 8192
      cores:
        description: CPU cores (at least 2).
        type: int
        default: 4
      sockets:
        description: CPU sockets.
        type: int
        default: 1
      cpu:
        description: CPU type.
        type: str
        default: x86-64-v2-AES
      disk_gib:
        description: System disk in GiB (at least 64). A cloned source with a smaller disk is grown.
        type: int
        default: 64
      bridge:
        description:
          - Bridge of the build VM's NIC (it needs DHCP and a path to the software sources).
          - Checked before anything is written (also in check mode) - a bridge that O(node) does not list in
            C(GET /nodes/{node}/network) is an error naming the bridges it has (PVE would create the build VM and
            fail its start with C(bridge '<b>' does not exist)). A bridge the API user has neither C(SDN.Audit)
            nor C(SDN.Use) on is not listed, so it counts as missing.
        type: str
        default: vmbr0
      vlan:
        description:
          - VLAN tag of the build VM's NIC.
          - A tag on a Linux bridge that is neither VLAN-aware nor has a physical port is refused before anything is
            written (PVE fails the start with C(no physical interface on bridge '<b>')).
        type: int
  source:
    description:
      - Where Windows comes from - exactly one of O(source.iso) or O(source.vm).
    type: dict
    required: true
    suboptions:
      iso:
        description:
          - Windows installer ISO, as C(<storage>:iso/<file>) or a file name on O(source.iso_storage).
            The build VM gets it as C(ide2) (first boot device after the empty disk) and O(source.virtio_iso)
            as C(ide0).
          - The install is unattended - without O(source.answer_iso) the module writes C(autounattend.xml) from
            O(unattend), packs it into an ISO (pycdlib), uploads it to the storage of O(source.iso) (content
            C(iso), SHA-256 checked by PVE), attaches it as C(sata0) and removes it after the build (it holds the
            local administrator's password). Use an ISO that boots without "press any key".
        type: str
      virtio_iso:
        description: The virtio-win ISO (storage and NIC drivers, guest agent). Required with O(source.iso).
        type: str
      answer_iso:
        description: An ISO of your own with C(autounattend.xml), attached as C(sata0) instead of the generated one.
        type: str
      iso_storage:
        description: Storage of ISOs given as plain file names.
        type: str
        default: local
      vm:
        description:
          - Name or VMID of a base VM or template with Windows installed (UEFI, TPM 2.0, WinRM and the guest
            agent on). It is fully cloned to O(storage) on O(node); the source itself is not changed.
        type: str
  manifest:
    description:
      - What goes into the image, applied over WinRM one step at a time in this order - O(manifest.software)
        (one step per package), O(manifest.drivers) (one per package), O(manifest.registry) (one step),
        O(manifest.files) (one step), O(manifest.library), then sysprep. Every step's result is returned.
    type: dict
    default: {}
    suboptions:
      software:
        description: Packages installed silently, in order.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Name as Windows lists it under installed programs (C(DisplayName)); a package
              already listed (with O(manifest.software[].version) if given) is not installed again.
            type: str
            required: true
          source:
            description:
              - Installer as a controller path (C(/srv/...), pushed over WinRM in chunks with a SHA-256 check), an
                http(s) URL the VM may read without credentials, a UNC path (read with O(share_user) for that one
                connection), or a path on the VM (for example on the virtio-win CD).
              - A UNC path without O(share_user) is refused - inside a WinRM session it would be access denied
                (the second hop).
            type: str
            required: true
          version:
            description: Version as listed (C(DisplayVersion)).
            type: str
          kind:
            description: C(msi) runs C(msiexec /i) with a verbose log; C(exe) runs the installer. Default from
              the file name.
            type: str
            choices: [msi, exe]
          args:
            description: Arguments, one per element. Default for C(msi) C([/qn, /norestart]), for C(exe) none.
            type: list
            elements: str
          success_codes:
            description: Exit codes that mean success. C(3010) (reboot required) reboots the VM before sysprep.
            type: list
            elements: int
          publisher:
            description: Publisher, for the record.
            type: str
          timeout:
            description: Seconds the install may take.
            type: int
            default: 1800
      drivers:
        description: Driver packages staged in the driver store (C(pnputil /add-driver <inf> /install)).
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Label of the package in results; default the INF name.
            type: str
          source:
            description: The package - a controller folder or zip (pushed over WinRM), an http(s) URL of a zip, a UNC
              folder (read with O(share_user)) or a folder on the VM. C(pnputil) exit codes 0, 3010 (reboot) and 259
              (no present device matched - normal for printer drivers staged on a build VM) are success.
            type: str
            required: true
          inf:
            description: INF file inside the package folder, e.g. C(ZDesigner.inf) or C(x64\oemsetup.inf).
            type: str
            required: true
      registry:
        description: Registry values; C(HKLM:\) paths, or C(HKDU:\) for the Default User hive (every new profile).
        type: list
        elements: dict
        default: []
        suboptions:
          path:
            description: Key, e.g. C(HKLM:\SOFTWARE\Policies\Microsoft\Edge).
            type: str
            required: true
          name:
            description: Value name.
            type: str
            required: true
          type:
            description: Registry type.
            type: str
            default: String
            choices: [String, ExpandString, DWord, QWord, MultiString, Binary]
          value:
            description: The data (an integer for DWord/QWord, a list for MultiString, hex for Binary).
            type: raw
            required: true
      files:
        description: Files put on the image.
        type: list
        elements: dict
        default: []
        suboptions:
          dest:
            description: Absolute path on the VM.
            type: str
            required: true
          content:
            description: Text content (written as UTF-8 without BOM).
            type: str
          source:
            description: Controller path (pushed), http(s) URL, or UNC path (read with O(share_user)) to copy from.
            type: str
      library:
        description: The material library, mapped for every new user (a persistent drive in the Default User hive).
        type: dict
        suboptions:
          drive:
            description: Drive letter, e.g. C(M:).
            type: str
            required: true
          unc:
            description: Share, e.g. C(\\hq-files.example\materials).
            type: str
            required: true
          label:
            description: Name Explorer shows for the drive.
            type: str
      sysprep:
        description:
          - The final step, always run - C(sysprep /generalize /oobe /shutdown /quiet), started through WMI so
            it outlives the WinRM shell; the build then waits until the VM has powered itself off.
          - Refused before it starts when a reboot is pending, when Store apps are installed for a user but not
            provisioned for all users, or when BitLocker encrypts the system drive (each makes sysprep fail).
            Setup's cached answer files in C(%WINDIR%\Panther) are removed first.
          - Watched - a sysprep that ends without powering the VM off, or does not finish within
            O(timeouts.sysprep), fails the build with the tail of C(setuperr.log) and C(setupact.log).
        type: dict
        default: {}
        suboptions:
          mode_vm:
            description: Add C(/mode:vm) (faster first boot; only for clones on the same hypervisor).
            type: bool
            default: false
          unattend:
            description: Path on the VM of an unattend file of your own for the specialize and OOBE passes (instead
              of the one generated from O(unattend)).
            type: str
  retention:
    description:
      - Versions to keep - the newest N (by version order). Older ones are removed, oldest first, except
        a version that a desktop still uses (tagged C(image-<name>) and C(v-<version>), or with disks that
        are linked clones of the template's base volumes), a pinned one and a protected one.
        RV(kept) says why each version stays.
    type: int
    default: 3
  pinned:
    description:
      - Versions never removed by retention (for example the rollback target). Their templates carry the tag
        C(pinned), which M(storedesk.vdi.golden_image_info) reports; a version no longer listed loses the tag.
    type: list
    elements: str
    default: []
  on_failure:
    description:
      - What happens to the build VM when the build fails. C(keep) renames it C(failed-<name>-<version>),
        tags it C(failed) and leaves it as it is (running, for inspection); C(remove) stops and destroys it.
        Either way no template of the version exists afterwards.
      - Either way the generated answer ISO (it holds the local administrator's password) is ejected from the
        kept VM and deleted from the storage; the error message says so, or says that it could not be deleted
        and why (the API user needs C(Datastore.Allocate) on that storage).
    type: str
    default: keep
    choices: [keep, remove]
  unattend:
    description:
      - The answer files the module generates (Microsoft's unattend reference) - C(autounattend.xml) for Setup of an
        ISO build (disk layout for UEFI, virtio drivers from the virtio-win CD, the QEMU guest agent, the local
        administrator, WinRM on with a firewall rule for O(unattend.winrm_subnets) on every network profile, device
        encryption prevented), and the unattend sysprep gives the clones' OOBE (no OOBE screens, same
        administrator, no device encryption).
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Generate the answer files. With V(false) the ISO or base VM must bring its own.
        type: bool
        default: true
      language:
        description: UI language, system and user locale, e.g. C(de-DE) (a language pack of the ISO).
        type: str
        default: en-US
      input_locale:
        description: Keyboard, e.g. C(de-DE); default O(unattend.language).
        type: str
      time_zone:
        description: Windows time zone name (C(tzutil /l)), e.g. C(W. Europe Standard Time).
        type: str
        default: UTC
      edition:
        description: Image name in the ISO's C(install.wim) (C(/IMAGE/NAME)).
        type: str
        default: Windows 11 Pro
      product_key:
        description: Product key; without one the edition is picked by O(unattend.edition).
        type: str
      computer_name:
        description: C(*) (Windows picks a random name) or a name of up to 15 characters.
        type: str
        default: '*'
      admin_user:
        description: Local administrator the answer files create; default O(winrm_user) (the build connects as it).
        type: str
      admin_password:
        description: Its password; default O(winrm_password). Written in Windows SIM's hidden form (not encrypted).
        type: str
      winrm_subnets:
        description: Addresses or subnets the controller connects from; the WinRM firewall rule of the build VM
          allows them on every network profile. Required for an ISO build with generated answer files.
        type: list
        elements: str
        default: []
      prevent_device_encryption:
        description: Set C(PreventDeviceEncryption) (automatic BitLocker device encryption would break sysprep).
        type: bool
        default: true
  share_user:
    description:
      - Account that reads the manifest's UNC sources inside the build VM's WinRM session, for that one connection
        (C(New-PSDrive -Credential)). The session itself holds no credentials for a file server (the second hop,
        of PowerShell remoting). The environment variable E(STOREDESK_SHARE_USER) is used when not set.
    type: str
  share_password:
    description: Its password (from the vault). The environment variable E(STOREDESK_SHARE_PASSWORD) is used when not set.
    type: str
  timeouts:
    description: Seconds to wait for each phase of a build.
    type: dict
    default: {}
    suboptions:
      guest_ip:
        description: Start until the guest agent reports an IPv4 address (an ISO install takes this long too).
        type: int
        default: 3600
      winrm:
        description: From the address until WinRM answers.
        type: int
        default: 900
      sysprep:
        description: From starting sysprep until the VM is powered off.
        type: int
        default: 1800
      task:
        description: Any one PVE task (create, clone, start, template).
        type: int
        default: 900
'''
