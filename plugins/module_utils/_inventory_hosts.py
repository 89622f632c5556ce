# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desktops as inventory hosts (private, pure: plain data in, plain data out).

Used by the inventory plugin storedesk.vdi.desktops and by desktop_access: which VMs are desktops,
their groups, their host vars, and the desktop's address from the guest agent's answer.
"""

from __future__ import annotations

import ipaddress
import re

from . import _tags

WINRM_DEFAULTS = {'ansible_connection': 'winrm', 'ansible_winrm_transport': 'ntlm', 'ansible_port': 5985,
                  'ansible_winrm_scheme': 'http'}
LOOPBACK_NAMES = ('lo', 'loopback')


def sanitize(name):
    """A safe Ansible group name: lower case, anything but [a-z0-9_] becomes `_`."""
    return re.sub(r'[^a-z0-9_]', '_', str(name).lower())


def power_state(item):
    """running, stopped, or hibernated (stopped with the `suspended` lock a suspend to disk leaves)."""
    status = item.get('status') or 'unknown'
    if status == 'stopped' and item.get('lock') == 'suspended':
        return 'hibernated'
    return status


def is_managed(item):
    """A guest storedesk manages: tagged `storedesk` (tags are live in /cluster/resources)."""
    return bool(_tags.parse(item.get('tags'))['managed'])


def desktop(item, region):
    """One /cluster/resources entry (type qemu) as a desktop record."""
    meta = _tags.parse(item.get('tags'))
    return {'name': item.get('name') or 'vm-{0}'.format(item['vmid']), 'vmid': int(item['vmid']),
            'node': item.get('node'), 'region': region, 'pool': item.get('pool'),
            'status': item.get('status'), 'power': power_state(item), 'lock': item.get('lock'),
            'template': bool(item.get('template')), 'managed': meta['managed'], 'tags': meta['tags'],
            'store': meta['store'], 'city': meta['city'], 'image': meta['image'], 'version': meta['version'],
            'role': meta['role'], 'ip': None,
            # seconds since start: live once _guest_live.resources overlaid the node's guest list (qemu-server
            # vmstatus), else /cluster/resources' RRD cache (pve-manager PVE/API2Tools.pm extract_vm_stats)
            'uptime': item.get('uptime')}


def desktops(resources, region, include_unmanaged=False):
    """The desktops of one cluster's /cluster/resources answer: managed (tag storedesk), never templates."""
    out = []
    for item in resources or []:
        if item.get('type') != 'qemu' or item.get('template'):
            continue
        record = desktop(item, region)
        if record['managed'] or include_unmanaged:
            out.append(record)
    return sorted(out, key=lambda d: (d['region'], d['name'], d['vmid']))


def first_ipv4(interfaces):
    """The first IPv4 address of network-get-interfaces that is not on a loopback interface.

    Loopback is judged by interface (Linux `lo`, Windows `Loopback Pseudo-Interface 1`) and by
    127.0.0.1 itself; link-local (APIPA 169.254/16) addresses are skipped too.
    """
    result = interfaces.get('result', interfaces) if isinstance(interfaces, dict) else interfaces
    for iface in result or []:
        name = str(iface.get('name', '')).lower()
        if name in LOOPBACK_NAMES or name.startswith('loopback'):
            continue
        for addr in iface.get('ip-addresses') or []:
            if addr.get('ip-address-type') != 'ipv4':
                continue
            try:
                ip = ipaddress.ip_address(addr.get('ip-address'))
            except ValueError:
                continue
            if str(ip) == '127.0.0.1' or ip.is_link_local or ip.is_unspecified:
                continue
            return str(ip)
    return None


def group_names(record, prefix=''):
    """The groups of a desktop: region_, city_, store_, image_v_, role_, power_ (all sanitized)."""
    groups = ['storedesk_desktops' if record['managed'] else 'unmanaged_vms']
    for kind, value in (('region', record['region']), ('city', record['city']), ('store', record['store']),
                        ('image', record['image']), ('image_v', record['version']), ('role', record['role']),
                        ('power', record['power'])):
        if value:
            groups.append(sanitize('{0}_{1}'.format(kind, value)))
    return [sanitize(prefix) + g for g in groups] if prefix else groups


def host_vars(record, winrm_user=None, winrm_port=5985, winrm_scheme='http', winrm_transport='ntlm'):
    """What a play needs about a desktop, plus the WinRM connection variables (never a password)."""
    hostvars = dict(('storedesk_' + key, record[key]) for key in (
        'vmid', 'node', 'region', 'pool', 'status', 'power', 'tags', 'store', 'city', 'image', 'version', 'role',
        'ip'))
    hostvars.update(WINRM_DEFAULTS, ansible_port=winrm_port, ansible_winrm_scheme=winrm_scheme,
                    ansible_winrm_transport=winrm_transport)
    if record['ip']:
        hostvars['ansible_host'] = record['ip']
    if winrm_user:
        hostvars['ansible_user'] = winrm_user
    return hostvars


def host_name(record, taken):
    """The inventory name: the desktop's name, or name-vmid when another cluster has the same name."""
    name = record['name']
    return name if name not in taken else '{0}-{1}'.format(name, record['vmid'])
