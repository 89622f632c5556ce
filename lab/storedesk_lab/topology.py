"""The lab's topology file: regions (one PVE cluster each), nodes, storages, images, stores."""

import ipaddress
import os

import yaml

from .pve_versions import version_info

DEFAULT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'topologies', 'demo.yml')
GIB = 1024 ** 3


class TopologyError(ValueError):
    """A topology file that cannot be served; the message names the field."""


def load(path=None):
    """The topology as a dict, checked."""
    path = path or DEFAULT
    with open(path, encoding='utf-8') as fh:
        topo = yaml.safe_load(fh)
    check(topo, path)
    return topo


def _check_bridges(where, bridges):
    """bridges: {name: {ports: 'eno1 eno2' (may be empty), vlan_aware: bool}} (pve_network.py serves them)."""
    if bridges is None:
        return
    if not isinstance(bridges, dict) or not bridges:
        raise TopologyError(where + ': a mapping of bridge name -> {ports, vlan_aware} is needed')
    for name, spec in bridges.items():
        if not isinstance(spec, dict) or set(spec) - {'ports', 'vlan_aware'}:
            raise TopologyError('{0}.{1}: only ports (str) and vlan_aware (bool) are known'.format(where, name))


def check(topo, path='topology'):
    regions = topo.get('regions') or {}
    if not regions:
        raise TopologyError('{0}: regions: at least one region is needed'.format(path))
    for name, region in regions.items():
        where = '{0}: regions.{1}'.format(path, name)
        if not region.get('nodes'):
            raise TopologyError(where + '.nodes: at least one node is needed')
        host = region.get('host')
        if host and not ipaddress.ip_address(host).is_loopback:
            raise TopologyError(where + '.host: {0} is not a loopback address (the lab serves on 127.0.0.0/8 only)'
                                .format(host))
        for node, spec in region['nodes'].items():
            for key in ('cores', 'memory_gib'):
                if not isinstance(spec.get(key), int) or spec[key] <= 0:
                    raise TopologyError('{0}.nodes.{1}.{2}: a positive integer is needed'.format(where, node, key))
            _check_bridges('{0}.nodes.{1}.bridges'.format(where, node), spec.get('bridges'))
        _check_bridges(where + '.bridges', region.get('bridges'))
        version = topo.get('pve_version', region.get('pve_version'))
        if version is not None:
            try:
                version_info(version)
            except ValueError as exc:
                raise TopologyError('{0}.pve_version: {1}'.format(where, exc)) from None
        for image in region.get('seed_images') or []:
            if image.get('node') not in region['nodes']:
                raise TopologyError('{0}.seed_images: node {1!r} is not a node of the region'.format(
                    where, image.get('node')))
    for code, store in (topo.get('stores') or {}).items():
        if store.get('region') not in regions:
            raise TopologyError('{0}: stores.{1}.region: {2!r} is not a region'.format(path, code, store.get('region')))
