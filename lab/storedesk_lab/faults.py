"""Named faults the lab injects into a running region, for `lab fault` and the tests."""

CLONE_ERROR = "clone failed: rbd create 'vm-{newid}-disk-0' error: rbd: create error: (5) Input/output error"


def _vm(pve, ref):
    """A VM by id or name."""
    for vm in pve.vms:
        if str(vm.vmid) == str(ref) or vm.name == ref:
            return vm
    raise KeyError('no VM {0!r} in region {1}'.format(ref, pve.region))


async def apply(pve, name, args):
    """Apply fault `name` with its args (dict) to one region; returns a one-line description."""
    if name == 'flaky-network':
        pve.flaky_network(drop_rate=float(args.get('drop', 0.05)), hang_rate=float(args.get('hang', 0.01)),
                          hang_secs=float(args.get('hang_secs', 30)), seed=args.get('seed'))
        return 'drop {0} hang {1}'.format(args.get('drop', 0.05), args.get('hang', 0.01))
    if name == 'slow-network':
        pve.slow_network(float(args.get('latency', 0.15)), float(args.get('jitter', 0.0)), node=args.get('node'))
        return 'latency {0}s'.format(args.get('latency', 0.15))
    if name == 'node-offline':
        pve.set_node_offline(args['node'])
        return 'node {0} offline'.format(args['node'])
    if name == 'node-online':
        pve.set_node_offline(args['node'], offline=False)
        return 'node {0} online'.format(args['node'])
    if name == 'lose-quorum':
        pve.lose_quorum()
        return 'quorum lost'
    if name == 'regain-quorum':
        pve.regain_quorum()
        return 'quorum regained'
    if name == 'hold-lock':
        vm = _vm(pve, args['vm'])
        await pve.hold_config_lock(vm.vmid, float(args['secs']) if args.get('secs') else None)
        return 'config lock of {0} held'.format(vm.vmid)
    if name == 'backup':
        vm = _vm(pve, args['vm'])
        await pve.backup(vm.vmid, secs=float(args.get('secs', 30)))
        return 'vzdump of {0} running'.format(vm.vmid)
    if name == 'clone-error':
        pve.fail_next_task('qmclone', args.get('message', CLONE_ERROR).replace('{newid}', 'x'),
                           times=int(args.get('times', 1)))
        return 'next {0} clone task(s) fail'.format(args.get('times', 1))
    if name == 'revoke-tickets':
        pve.revoke_tickets()
        return 'tickets revoked'
    if name == 'expire-tickets':
        pve.age_tickets(float(args['secs']) if args.get('secs') else None)
        return 'tickets aged {0} s'.format(args.get('secs', pve.ticket_ttl))
    if name == 'clear':
        pve.flaky_network()
        pve.network.update(latency=0.0, jitter=0.0, node_latency={})
        pve.regain_quorum()
        for node in pve.nodes:
            pve.set_node_offline(node, offline=False)
        pve.failures.clear()
        pve.task_faults.clear()
        return 'faults cleared'
    raise KeyError('unknown fault {0!r}; known: {1}'.format(name, ', '.join(NAMES)))


NAMES = ('flaky-network', 'slow-network', 'node-offline', 'node-online', 'lose-quorum', 'regain-quorum',
         'hold-lock', 'backup', 'clone-error', 'revoke-tickets', 'expire-tickets', 'clear')
