"""The smoke flow: what a first rollout does, on one store, through the collection's modules.

Steps (each checked through the API, not through the module's answer):
  images   two image versions made of the given template (linked clones, tagged, converted to templates)
  pool     a 3-desktop pool (desktop_pool)
  power    shutdown then start (desktop_power)
  sleep    hibernate and resume (desktop_power)
  usb      one mapped USB device on the store's desktops (usb_mapping + usb_device; needs a USB id)
  push     an image push to the second version (desktop_pool, canary 1)
  clerk    a store clerk's access: own desktops yes, others no (store_access, then a login as the clerk)
  reclaim  the store back to 0 desktops (desktop_pool count 0)
and a clean-up that removes everything the run made, whatever step failed.
"""

import secrets

IMAGE = 'accept'
V1, V2 = '1.0.0', '1.0.1'


class Smoke(object):
    """One run against a target (acceptance_target.Target)."""

    def __init__(self, target, log=print):
        self.t = target
        self.log = log
        self.templates = []          # vmids of the image templates this run made
        self.mapping = 'acc-{0}'.format(target.store)
        self.clerk = 'acc-clerk-{0}@pve'.format(target.store)
        self.clerk_password = secrets.token_urlsafe(12)

    def module(self, name, args, ok=True):
        result = self.t.module(name, args)
        if ok:
            assert result['rc'] == 0, '{0} failed: {1}'.format(name, result.get('msg') or result['_out'])
        return result

    def pool_args(self, count, version=V1, **extra):
        store = {'code': self.t.store, 'city': 'acceptance', 'region': self.t.region, 'count': count,
                 'image': {'name': IMAGE, 'version': version}}
        args = dict({'store': store, 'bridge': self.t.bridge, 'nodes': [self.t.node]}, **extra)
        return args

    # ------------------------------------------------------------------ steps

    def images(self):
        t = self.t
        source = t.get('/nodes/{0}/qemu/{1}/config'.format(t.node, t.template))
        assert int(source.get('template') or 0) == 1, 'PVE_ACCEPTANCE_TEMPLATE {0} is not a template'.format(
            t.template)
        for version in (V1, V2):
            vmid = int(t.get('/cluster/nextid'))
            name = 'tpl-{0}-{1}'.format(IMAGE, version).replace('.', '-')
            t.wait(t.call('POST', '/nodes/{0}/qemu/{1}/clone'.format(t.node, t.template), newid=vmid, name=name))
            self.templates.append(vmid)
            t.call('PUT', '/nodes/{0}/qemu/{1}/config'.format(t.node, vmid),
                   tags='image-{0};storedesk;v-{1}'.format(IMAGE, version),
                   description='storedesk golden image {0} {1} (acceptance run)'.format(IMAGE, version))
            t.wait(t.call('POST', '/nodes/{0}/qemu/{1}/template'.format(t.node, vmid)))
        self.log('images: templates {0}'.format(self.templates))

    def pool(self):
        self.module('desktop_pool', self.pool_args(3))
        desktops = self.t.store_desktops()
        assert len(desktops) == 3, [d['name'] for d in desktops]
        assert all(d['status'] == 'running' for d in desktops), [(d['name'], d['status']) for d in desktops]
        assert all(d.get('pool') == 'store-' + self.t.store for d in desktops)
        self.log('pool: {0}'.format(', '.join(d['name'] for d in desktops)))

    def power(self):
        self.module('desktop_power', {'action': 'shutdown', 'stores': [self.t.store], 'shutdown_timeout': 120})
        assert all(d['status'] == 'stopped' for d in self.t.store_desktops())
        self.module('desktop_power', {'action': 'start', 'stores': [self.t.store]})
        assert all(d['status'] == 'running' for d in self.t.store_desktops())
        self.log('power: shutdown, start')

    def sleep(self):
        self.module('desktop_power', {'action': 'hibernate', 'stores': [self.t.store]})
        states = [(d['status'], d['lock']) for d in self.t.store_desktops()]
        assert states == [('stopped', 'suspended')] * 3, states
        self.module('desktop_power', {'action': 'resume', 'stores': [self.t.store]})
        states = [(d['status'], d['lock']) for d in self.t.store_desktops()]
        assert states == [('running', None)] * 3, states
        self.log('sleep: hibernate, resume')

    def usb(self):
        if not self.t.usb_id:
            self.log('usb: skipped (no PVE_ACCEPTANCE_USB_ID)')
            return
        self.module('usb_mapping', {'name': self.mapping, 'usb_id': self.t.usb_id, 'nodes': [self.t.node],
                                    'description': 'storedesk acceptance run'})
        self.module('usb_device', {'store': self.t.store, 'devices': [{'mapping': self.mapping}]})
        for d in self.t.store_desktops():
            slots = [v for k, v in d['config'].items() if k.startswith('usb') and k[3:].isdigit()]
            assert 'mapping=' + self.mapping in slots, (d['name'], slots)
        self.log('usb: mapping {0} on every desktop'.format(self.mapping))

    def push(self):
        self.module('desktop_pool', self.pool_args(3, version=V2, push={'canary': 1, 'batch_size': 2}))
        desktops = self.t.store_desktops()
        assert len(desktops) == 3
        assert all('v-' + V2 in d['tags'].split(';') for d in desktops), [(d['name'], d['tags']) for d in desktops]
        assert all(d['status'] == 'running' for d in desktops)
        self.log('push: every desktop at {0}'.format(V2))

    def clerk_access(self):
        self.module('store_access', {'stores': [{'code': self.t.store, 'staff': [
            {'user': self.clerk, 'role': 'store_clerk', 'password': self.clerk_password}]}]})
        import requests
        t = self.t
        login = requests.post(t.base + '/access/ticket', data={'username': self.clerk, 'password': self.clerk_password},
                              verify=t.verify, timeout=60)
        assert login.status_code == 200, login.text
        data = login.json()['data']
        cookies = {'PVEAuthCookie': data['ticket']}
        mine = t.store_desktops()[0]
        own = requests.get(t.base + '/nodes/{0}/qemu/{1}/config'.format(mine['node'], mine['vmid']),
                           cookies=cookies, verify=t.verify, timeout=60)
        assert own.status_code == 200, own.text
        other = requests.get(t.base + '/nodes/{0}/qemu/{1}/config'.format(t.node, t.template), cookies=cookies,
                             verify=t.verify, timeout=60)
        assert other.status_code == 403, other.text
        self.log('clerk: {0} sees the store, not the template'.format(self.clerk))

    def reclaim(self):
        self.module('desktop_pool', self.pool_args(0, version=V2))
        assert self.t.store_desktops() == []
        self.log('reclaim: store back to 0 desktops')

    # ---------------------------------------------------------------- clean-up

    def cleanup(self):
        """Remove what the run made; every step is best effort and the first error is raised at the end."""
        t, errors = self.t, []

        def attempt(what, fn):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - keep cleaning
                errors.append('{0}: {1}'.format(what, exc))
        for d in t.store_desktops():
            base = '/nodes/{0}/qemu/{1}'.format(d['node'], d['vmid'])
            if d['config'].get('protection'):
                attempt('unprotect', lambda: t.call('PUT', base + '/config', protection=0))
            if d['status'] == 'running' or d.get('lock') == 'suspended':
                if d.get('lock') == 'suspended':
                    attempt('resume', lambda: t.wait(t.call('POST', base + '/status/start')))
                attempt('stop', lambda: t.wait(t.call('POST', base + '/status/stop')))
            attempt('destroy ' + d['name'], lambda: t.wait(t.call('DELETE', base, purge=1)))
        for vmid in reversed(self.templates):
            attempt('destroy template {0}'.format(vmid),
                    lambda: t.wait(t.call('DELETE', '/nodes/{0}/qemu/{1}'.format(t.node, vmid), purge=1)))
        if t.usb_id:
            attempt('usb mapping', lambda: t.call('DELETE', '/cluster/mapping/usb/' + self.mapping))
        users = [u['userid'] for u in t.get('/access/users')]
        if self.clerk in users:
            attempt('clerk', lambda: t.call('DELETE', '/access/users/' + self.clerk))
        groups = [g['groupid'] for g in t.get('/access/groups')]
        group = 'store-{0}-clerk'.format(t.store)
        if group in groups:
            attempt('group', lambda: t.call('DELETE', '/access/groups/' + group))
        pools = [p['poolid'] for p in t.get('/pools')]
        if 'store-' + t.store in pools:
            attempt('pool', lambda: t.call('DELETE', '/pools/store-' + t.store))
        self.log('cleanup: done' + ('' if not errors else ' with errors: ' + '; '.join(errors)))
        assert not errors, errors

    def run(self):
        try:
            for step in (self.images, self.pool, self.power, self.sleep, self.usb, self.push, self.clerk_access,
                         self.reclaim):
                step()
        finally:
            self.cleanup()
