"""The assessment's HTML report, rendered in headless Chromium as a person would open it."""

import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import ROOT, run_playbook

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']


def chromium(*args):
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM] + FLAGS + ['--user-data-dir=' + profile] + list(args),
                              capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not CHROMIUM, reason='chromium is installed by `make browser`')
def test_assessment_report_renders(lab, tmp_path):
    proc = run_playbook(lab, 'playbooks/assess.yml', {'report_dir': str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    html = glob.glob(str(tmp_path / 'assessment-*.html'))
    assert len(html) == 1 and len(glob.glob(str(tmp_path / 'assessment-*.json'))) == 1
    dom = chromium('--dump-dom', 'file://' + html[0]).stdout
    # What the reader sees first: the verdict, then the figures, then the chart and the tables.
    assert dom.index('class="verdict ok"') < dom.index('class="cards"') < dom.index('<svg') < dom.index('cd-0204')
    # cd-0204's link class and the video streaming desktop_pool writes for it (_store_rules.LINK_CLASSES).
    assert 'poor link (8 Mbit/s, 150 ms): SPICE video streaming off' in dom
    assert 'videostreaming=off' in dom
    shot = tmp_path / 'assessment.png'
    chromium('--window-size=1200,1600', '--screenshot=' + str(shot), 'file://' + html[0])
    assert shot.exists() and os.path.getsize(shot) > 20000, 'a blank page is a few KB'
    keep = os.environ.get('STOREDESK_KEEP_SCREENSHOTS')
    if keep:
        shutil.copy(shot, os.path.join(keep, 'assessment.png'))


def test_bad_inventory_is_rejected_before_any_change(lab, tmp_path):
    inv = tmp_path / 'inv'
    shutil.copytree(os.path.join(ROOT, 'inventories', 'lab'), inv)
    with open(inv / 'host_vars' / 'sh-0002.yml', 'a') as fh:
        fh.write('store_vlan: 2101\n')           # sh-0001's VLAN
    before = len(lab.regions['east'].requests)
    proc = run_playbook(lab, 'playbooks/assess.yml', {'report_dir': str(tmp_path)}, args=['-i', str(inv)])
    assert proc.returncode != 0
    assert 'store sh-0002: store_vlan: VLAN 2101 on vmbr1 is also used by store sh-0001 (give every store its own VLAN)' \
        in proc.stdout
    assert len(lab.regions['east'].requests) == before, 'nothing reached the API'
