"""The estate dashboard (index.html in the report directory): refreshed by every phase report, every store at a
glance and every report linked newest first; rendered in Chromium at a phone's width."""

import glob
import json
import os
import re

import pytest

from conftest import run_playbook
from test_reports_render import CHROMIUM, chromium


def test_every_phase_refreshes_the_dashboard(lab, tmp_path):
    # an older rollout and review of the same directory (as earlier runs left them)
    (tmp_path / 'rollout-20261101T080000Z.json').write_text(json.dumps({
        'phase': 'rollout', 'generated': '2026-11-01T08:00:00Z', 'image': {'name': 'chain', 'version': '2026.11'},
        'stores': [{'store': 'sh-0001', 'status': 'done', 'desktops': 4},
                   {'store': 'cd-0204', 'status': 'failed', 'desktops': 1}]}))
    # a review says per store what it saw: the plan and the version the desktops' tags name (cd-0204, a pilot store
    # whose rollout failed, had no version on the dashboard before reviews said it)
    (tmp_path / 'review-20261102T080000Z.json').write_text(json.dumps({
        'phase': 'review', 'generated': '2026-11-02T08:00:00Z',
        'stores': [{'store': 'cd-0204', 'verdict': 'FAIL', 'plan': 5, 'version': '2026.10', 'desktops': 5},
                   {'store': 'sh-0001', 'verdict': 'PASS', 'plan': 5, 'version': '2026.11', 'desktops': 4}]}))
    proc = run_playbook(lab, 'playbooks/assess.yml', {'report_dir': str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    index = tmp_path / 'index.html'
    assert index.exists(), 'the assessment wrote the dashboard'
    html = index.read_text()
    assess = os.path.basename(glob.glob(str(tmp_path / 'assessment-*.html'))[0])
    assert html.index(assess) < html.index('review-20261102T080000Z') < html.index('rollout-20261101T080000Z'), \
        'reports newest first'
    assert '<meta name="viewport" content="width=device-width,initial-scale=1">' in html
    if not CHROMIUM:
        pytest.skip('chromium is installed by `make browser`')
    dom = chromium('--dump-dom', 'file://' + str(index)).stdout
    rows = {r.split('</td>')[0].split('>')[-1]: r for r in dom.split('<tr>')[1:] if '<td' in r}
    assert 'FAIL' in rows['cd-0204'] and 'review 2026-11-02T08:00:00Z' in rows['cd-0204']
    assert '2026.11' in rows['sh-0001'] and '>4<' in rows['sh-0001'] and 'PASS' in rows['sh-0001']
    assert dom.index('<td>cd-0204</td>') < dom.index('<td>sh-0001</td>'), 'stores that missed a KPI first'
    assert 'Missed a KPI at the last measurement: cd-0204' in dom
    # the plan of every store (the assessment reports each one's baseline and spares); the version of every store a
    # rollout or review saw desktops of - none shows a gap
    assessed = json.load(open(glob.glob(str(tmp_path / 'assessment-*.json'))[0]))['stores']
    cells = dict((code, re.findall(r'<td[^>]*>(.*?)</td>', row)) for code, row in rows.items()
                 if re.match(r'^[a-z]{2}-\d{4}$', code))
    assert sorted(cells) == sorted(s['store'] for s in assessed) and all(c[2].isdigit() for c in cells.values()), cells
    assert cells['hq-0001'][2] == '3' and cells['sh-0003'][2] == '5', 'baseline + spares from the inventory'
    assert (cells['cd-0204'][3], cells['sh-0001'][3]) == ('2026.10', '2026.11'), cells
    shot = tmp_path / 'phone.png'
    chromium('--window-size=390,844', '--screenshot=' + str(shot), 'file://' + str(index))
    assert shot.exists() and os.path.getsize(shot) > 8000
