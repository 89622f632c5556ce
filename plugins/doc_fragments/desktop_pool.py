# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Options of storedesk.vdi.desktop_pool (kept here so the module stays short)."""

    DOCUMENTATION = r'''
options:
  store:
    description:
      - One store. Mutually exclusive with O(stores). Options not given here come from the task's options.
    type: dict
    suboptions: &store_options
      code:
        description: Store code (the inventory host name), e.g. C(sh-0001). Used in tags, pool and names.
        type: str
        required: true
      name:
        description: Readable store name, written into the desktops' description.
        type: str
      city:
        description: City; becomes the tag C(city-<city>).
        type: str
      region:
        description: Region; becomes the tag C(region-<region>).
        type: str
      subnet:
        description: The store's subnet (CIDR). Checked for overlaps; static addresses come from it.
        type: str
      gateway:
        description: Gateway for static addresses; default the subnet's first host.
        type: str
      reserved:
        description:
          - Addresses of the store subnet no desktop may take under O(addressing=static) (printers, scales,
            anything with a fixed address). The gateway, network and broadcast addresses are always reserved.
          - Desktop N gets the N-th address after O(address_offset) that is not reserved.
        type: list
        elements: str
      vlan:
        description:
          - VLAN tag of the desktops' C(net0) (1-4094). No two stores on one bridge may share it.
          - On a Linux bridge that is not VLAN-aware PVE needs a physical port on it to carry the tag; a store
            whose placement nodes lack one is refused before any change.
        type: int
      bridge:
        description:
          - Bridge of C(net0); default O(bridge).
          - Must be a bridge the API user can see (SDN.Use or SDN.Audit on C(/sdn/zones/localnetwork/<bridge>)) on
            every placement node (O(nodes), else every online node) - PVE would clone the desktops and fail every
            start. Checked before any change when the run creates, reconfigures or starts desktops.
        type: str
      link:
        description: The store's WAN link; picks the SPICE video mode when O(spice_video=auto).
        type: dict
        suboptions:
          bandwidth_mbps:
            description: Bandwidth in Mbit/s.
            type: int
          latency_ms:
            description: Round trip in ms.
            type: int
      count:
        description: Desktops of the store (without spares); default O(count).
        type: int
      spares:
        description: Extra desktops kept running ahead of demand; default O(spares). Must not exceed count.
        type: int
      power:
        description: Power state of the pool; default O(power).
        type: str
        choices: [running, stopped, hibernated]
      image:
        description: Golden image of the store; default O(image).
        type: dict
        suboptions:
          name:
            description: Image name (template tag C(image-<name>)).
            type: str
          version:
            description: Image version (template tag C(v-<version>)).
            type: str
      protection:
        description: Set C(protection=1) on the desktops; default O(protection).
        type: bool
      addressing:
        description: C(dhcp) or C(static); default O(addressing).
        type: str
        choices: [dhcp, static]
      spice_video:
        description: SPICE video streaming; default O(spice_video).
        type: str
        choices: [auto, all, filter, 'off']
  stores:
    description:
      - Many stores of one region in one run (the same suboptions as O(store)). Mutually exclusive with O(store).
    type: list
    elements: dict
    suboptions: *store_options
  image:
    description: Default golden image of the stores.
    type: dict
    suboptions:
      name:
        description: Image name (template tag C(image-<name>)).
        type: str
      version:
        description: Image version (template tag C(v-<version>)). Changing it pushes the new image.
        type: str
  count:
    description: Default number of desktops per store (0 removes them all, within the safety rules).
    type: int
  spares:
    description:
      - Default number of spare desktops per store, on top of O(count), tagged C(role-spare).
      - Spares keep running whatever O(power) says, so a desktop is ready before the others wake.
    type: int
    default: 0
  power:
    description:
      - C(running) starts stopped and hibernated desktops; C(stopped) shuts running ones down (then stops them
        after O(shutdown_timeout)); C(hibernated) suspends running ones to disk. Spares keep running.
    type: str
    default: running
    choices: [running, stopped, hibernated]
  name_pattern:
    description:
      - Desktop names; fields C({store}), C({index}) (1-based), C({city}), C({region}). Must give distinct,
        DNS-valid names (PVE's rule for VM names).
    type: str
    default: '{store}-d{index:02d}'
  pool_pattern:
    description: PVE resource pool per store.
    type: str
    default: 'store-{store}'
  bridge:
    description: Default bridge of C(net0).
    type: str
    default: vmbr0
  protection:
    description: Default of the stores' O(store.protection).
    type: bool
    default: false
  guest_agent:
    description: Enable the QEMU guest agent option (C(agent=enabled=1,fstrim_cloned_disks=1)).
    type: bool
    default: true
  spice_video:
    description:
      - SPICE C(videostreaming). C(auto) picks C(all) on links under 40 ms and from 50 Mbit/s, C(filter)
        under 120 ms and from 10 Mbit/s, else C(off). Folder sharing is always on; C(vga=qxl).
    type: str
    default: auto
    choices: [auto, all, filter, 'off']
  addressing:
    description:
      - C(dhcp) leaves addresses to the store's DHCP. C(static) gives desktop N the N-th address after
        subnet + O(address_offset) that is not reserved (gateway, O(stores[].reserved)), written as C(ipconfig0)
        (read by cloudbase-init) and into the description.
    type: str
    default: dhcp
    choices: [dhcp, static]
  address_offset:
    description: With static addressing, desktop addresses start after host number O(address_offset) of the subnet.
    type: int
    default: 10
  nodes:
    description: Place new desktops only on these nodes (default every online node).
    type: list
    elements: str
  vmid_min:
    description: Lowest VMID for new desktops; free ids are taken from the bulk read upwards.
    type: int
    default: 1000
  backup_before_destroy:
    description:
      - C(none) destroys. C(vzdump) backs the desktop up to O(backup_storage) first.
      - C(snapshot) does not destroy (PVE drops a VM's snapshots with it) - the desktop is stopped,
        snapshotted, tagged C(reclaimed) and taken out of the pool; it no longer counts for the store.
    type: str
    default: none
    choices: [none, snapshot, vzdump]
  backup_storage:
    description: Storage for C(vzdump) backups.
    type: str
    default: local
  in_use_check:
    description:
      - How a desktop in use is recognised (it is then never destroyed or replaced). C(tag) - the tag C(inuse)
        (set by the broker). C(agent) - the guest agent reports a logged-in user (running desktops only).
    type: list
    elements: str
    default: [tag, agent]
    choices: [tag, agent]
  in_use_ignore_users:
    description: Accounts the guest agent may report that do not mean a person is using the desktop.
    type: list
    elements: str
    default: [root, storedesk-admin]
  push:
    description: How an image push replaces desktops.
    type: dict
    default: {}
    suboptions:
      canary:
        description: Desktops replaced first, alone, before any batch.
        type: int
        default: 1
      batch_size:
        description: Desktops replaced at once after the canary.
        type: int
        default: 5
      in_use:
        description: C(skip) leaves desktops in use at the old version (a rerun takes them); C(wait) waits for them.
        type: str
        default: skip
        choices: [skip, wait]
      in_use_timeout:
        description: Seconds to wait for a desktop in use with O(push.in_use=wait).
        type: int
        default: 900
      stop_on_error:
        description: Stop the push at the first failed desktop.
        type: bool
        default: true
  concurrency_per_node:
    description: Desktops worked on at once per node (clone, config, start of one desktop in a row).
    type: int
    default: 4
  concurrency:
    description: Desktops worked on at once overall; 0 means O(concurrency_per_node) x online nodes.
    type: int
    default: 0
  clone_retries:
    description: A clone task that fails (PVE cleans it up) is tried again this many times.
    type: int
    default: 1
  task_timeout:
    description: Seconds to wait for one PVE task.
    type: int
    default: 600
  lock_wait:
    description:
      - Seconds to keep retrying while another task (a backup, a migration) holds a desktop's or the template's
        lock. A template held by a backup is waited for once, before any change; past O(lock_wait) the run stops
        and says so.
    type: int
    default: 120
  lease_wait:
    description:
      - One run at a time per store. A run that changes something first takes a lease on its stores (a PVE
        resource pool C(storedesk-lease-<run id>) whose comment names owner, run id, stores and expiry).
      - Seconds to wait while another live run holds one of the stores; then the run stops naming the holder,
        having changed nothing. C(0) stops at once.
    type: int
    default: 300
  lease_ttl:
    description:
      - Seconds a lease lives without renewal (the holder renews it every third of this). A run that died
        (its controller lost, the module killed) leaves a lease that later runs take over after this long.
    type: int
    default: 300
  saved_sessions:
    description:
      - A hibernated desktop holds a saved session (open documents of the staff). C(keep) never destroys or
        replaces it on scale-down, image push or reclaim (it is kept and reported); C(discard) allows it.
    type: str
    default: keep
    choices: [keep, discard]
  shutdown_timeout:
    description: Seconds a guest gets to shut down before it is stopped.
    type: int
    default: 120
'''
