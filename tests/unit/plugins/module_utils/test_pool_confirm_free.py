"""The live read right before a destroy: a desktop planned as not running that runs now was started after the
plan (the launcher woke it while backups of others ran); who is logged in was never asked, so it stays."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, '.venv', 'collections'))

from test_pool_apply import FakePve, deploy, one_store, run  # noqa: E402


def test_a_desktop_started_between_the_plan_and_its_destroy_stays_running():
    pve = FakePve()
    deploy(pve, count=2, power='stopped')
    d02 = [vm for vm in pve.vms.values() if vm.get('name') == 'ut-0001-d02'][0]

    def current(path, data):      # the plan's reads (bulk, node list) say stopped; status/current runs now
        return {'status': 'running'} if path.endswith('/{0}/status/current'.format(d02['vmid'])) else None
    pve.hooks[('GET', 'current')] = current
    result = run(pve, one_store(1, power='stopped'))
    assert pve.desktops('ut-0001') == ['ut-0001-d01', 'ut-0001-d02']
    assert not pve.writes('/shutdown') and not pve.writes('/stop')
    assert [k['reason'] for k in result['stores']['ut-0001']['kept']] == [
        'started after the plan read it stopped: who is logged in was not asked (a rerun asks)']


def test_with_the_agent_check_off_the_started_desktop_goes_as_planned():
    pve = FakePve()
    deploy(pve, count=2, power='stopped')
    d02 = [vm for vm in pve.vms.values() if vm.get('name') == 'ut-0001-d02'][0]
    pve.hooks[('GET', 'current')] = lambda path, data: {'status': 'running'} if path.endswith(
        '/{0}/status/current'.format(d02['vmid'])) else None
    run(pve, one_store(1, power='stopped', in_use_check=['tag']))
    assert pve.desktops('ut-0001') == ['ut-0001-d01']
