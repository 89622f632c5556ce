"""playbooks/inspect.yml on the lab: a page per store with its desktops, the devices Windows sees, printers, the
store's KPIs over time and its open problems; rendered in Chromium and checked for what the HQ team must see."""

import glob
import json
import os
import re

import pytest

from conftest import ROOT, api, run_playbook
from test_reports_render import CHROMIUM, chromium
from test_review import desktops

from ansible_collections.storedesk.vdi.plugins.module_utils import _kpi_history as kh


def test_inspection_page_of_a_store(fresh_lab, tmp_path):
    lab = fresh_lab      # a lab of its own: other tests in the worker share the session lab (USB mappings, pools)
    desktops(lab, 'sh-0005', (4551, 4552), tags='v-1.1.0')
    desktops(lab, 'sh-0004', (4541,), tags='v-1.1.0')                 # a second store, inspected in the same run
    lab.fleets['east'].desktop(4541).extra_usb.append('05E0:1200')     # its scanner: seen in its own desktop only
    lab.fleets['east'].desktop(4551).printers['Receipt'] = {'driver': 'EPSON TM-T88VI Receipt',
                                                            'port': 'IP_10.21.5.50', 'shared': False}
    lab.fleets['east'].desktop(4551).extra_usb.append('05E0:1200')     # the store's scanner, plugged into d01
    # pvestatd has broadcast the started desktops (their uptime comes from its RRD cache, ~10 s behind on PVE; an
    # inspection runs long after a start, not within that window)
    lab.regions['east'].rrd_refresh()
    session = api(lab)                                                 # the region's POS mapping exists
    session.post(session.base + '/cluster/mapping/usb', data={'id': 'pos-ingenico-lane3000',
                 'map': 'node=pve-e1,id=0b00:0084'}, verify=session.verify).raise_for_status()
    history = str(tmp_path / 'kpi.sqlite')
    conn = kh.connect(history)
    for review, at, value in (('r1', 1000.0, 100.0), ('r2', 2000.0, 50.0)):
        kh.record(conn, review, at, [{'store': 'sh-0005', 'kpi': 'print_success_pct', 'value': value,
                                      'threshold': 95, 'sense': 'min'}])
    extra = {'stores': 'sh-0005,sh-0004', 'storedesk_report_dir': str(tmp_path), 'review_history': history}
    proc = run_playbook(lab, 'playbooks/inspect.yml', extra, args=['-i', os.path.join(ROOT, 'inventories', 'lab')])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    pages = glob.glob(str(tmp_path / 'inspect-sh-0005-*.html'))
    assert len(pages) == 1 and not glob.glob(str(tmp_path / 'inspect-sh-0001-*')), 'only the stores asked for'
    # one desktop_probe fan-out over both stores (one task run on the controller), not one per store; each desktop
    # ran the probe script once
    probe = proc.stdout.split("TASK [Probe the inspected stores' running desktops in one fan-out]")
    assert len(probe) == 2, 'the fan-out task ran once'
    assert re.findall(r'^(?:ok|changed|failed|fatal): \[([^\]]+)\]', probe[1].split('TASK [')[0], re.M) == ['localhost']
    ran = {vmid: [n for n, _ in lab.fleets['east'].desktop(vmid).scripts_run].count('probe/1')
           for vmid in (4551, 4552, 4541)}
    assert ran == {4551: 1, 4552: 1, 4541: 1}, ran
    other = json.load(open(glob.glob(str(tmp_path / 'inspect-sh-0004-*.json'))[0]))
    assert [d['desktop'] for d in other['desktops']] == ['sh-0004-d01'], 'split per store'
    assert [d['vid_pid'] for d in other['devices']] == ['05E0:1200']
    assert not [p for p in other['problems'] if 'sh-0005' in p['desktop']], other['problems']
    # the summary counts the store's own desktops that answered (2), not the whole fan-out's (3)
    assert '<div class="l">Answering WinRM</div><div class="v">2</div>' in open(pages[0]).read()
    data = json.load(open(pages[0][:-5] + '.json'))
    problems = {(p['desktop'], p['problem']) for p in data['problems']}
    assert ('sh-0005-d02', 'printer Receipt missing') in problems
    assert ('sh-0005-d01', 'printer Receipt missing') not in problems
    assert ('(store)', 'KPI missed at the last review: print_success_pct 50') in problems
    assert ('sh-0005-d02', 'USB device 05E0:1200 not seen in Windows') in problems
    assert ('sh-0005-d01', 'USB device 05E0:1200 not seen in Windows') not in problems
    assert [d['vid_pid'] for d in data['devices'] if d['desktop'] == 'sh-0005-d01'] == ['05E0:1200']
    assert data['drift'] is not None, proc.stdout[proc.stdout.find('Plan the store'):][:4000]
    drift = {(d['desktop'], d['what']) for d in data['drift']}
    assert ('sh-0005-d01', 'USB devices') in drift and ('sh-0005-d02', 'printers') in drift, data['drift']
    assert all(d['fix'].startswith('ansible-playbook playbooks/rollout.yml -e wave=wave') for d in data['drift'])
    assert [d['desktop'] for d in data['desktops']] == ['sh-0005-d01', 'sh-0005-d02']
    assert all(d['power'] == 'running' and d['node'] == 'pve-e1' for d in data['desktops'])
    # uptime per desktop (PVE's, seconds since the start): the desktops started a moment ago
    assert all(re.match(r'^0d 0h \d+m$', d['uptime'] or '') for d in data['desktops']), data['desktops']
    assert data['stores'] == [{'store': 'sh-0005', 'desktops': 2, 'plan': 5, 'version': '1.1.0',
                               'kpi_verdict': data['kpi_verdict'], 'open_problems': len(data['problems']),
                               'drift': data['drift']}]
    if not CHROMIUM:
        pytest.skip('chromium is installed by `make browser`')
    dom = chromium('--dump-dom', 'file://' + pages[0]).stdout
    assert 'Store inspection: sh-0005' in dom and 'class="verdict bad"' in dom
    assert 'Print test success (oldest → newest): 100 → 50' in dom
    assert '05E0:1200' in dom and 'printer Receipt missing' in dom
    assert dom.index('Open problems') < dom.index('Devices seen inside Windows') < dom.index('KPIs over time')
    desks = dom[dom.index('<h2>Desktops</h2>'):]
    rows = [re.findall(r'<td[^>]*>(.*?)</td>', r) for r in desks[:desks.index('</table>')].split('<tr>')[2:]]
    shown = [(r[0], bool(re.match(r'^0d 0h \d+m$', r[4]))) for r in rows]
    assert shown == [('sh-0005-d01', True), ('sh-0005-d02', True)], rows
    board = chromium('--dump-dom', 'file://' + str(tmp_path / 'index.html')).stdout
    assert os.path.basename(pages[0]) in board, 'the dashboard links the store page'
    row = board[board.index('<td>sh-0005</td>'):]
    cells = re.findall(r'<td[^>]*>(.*?)</td>', row[:row.index('</tr>')])
    assert cells[:4] == ['sh-0005', '2', '5', '1.1.0'], 'desktops, plan and version on the dashboard'
