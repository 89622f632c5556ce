"""playbooks/pilot.yml's gate on the lab: every KPI with a threshold from the one inventory place - the material
library's freshness gates the pilot (the stamps its desktops read), the image version switch time, which a pilot has
no source for, is shown as not measured and neither passes nor fails it."""

import glob
import json
import os

from conftest import ROOT, run_playbook

LIBRARY = {'drive': 'M:', 'unc': '\\\\hq-files.storedesk.example\\materials', 'marker': 'promo-version.txt',
           'current': '2027.01-w01'}   # the source has moved on; the lab's share still holds an older stamp


def test_pilot_gate_judges_the_library_and_shows_what_it_cannot_measure(fresh_lab, tmp_path):
    extra = {'stores': 'sh-0001', 'image_version': '1.0.0', 'storedesk_report_dir': str(tmp_path),
             'storedesk_library': LIBRARY}
    proc = run_playbook(fresh_lab, 'playbooks/pilot.yml', extra, args=['-i', os.path.join(ROOT, 'inventories', 'lab')])
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert 'Pilot gate missed, the rollout does not start: sh-0001: library_current_pct 0% below 100%' in proc.stdout, \
        proc.stdout[-4000:]
    report = json.load(open(sorted(glob.glob(str(tmp_path / 'pilot-*.json')))[-1]))
    row = report['gate']['stores'][0]
    assert row['reasons'] == ['library_current_pct 0% below 100%'], row
    assert (row['library_current_pct'], row['version_switch_seconds']) == (0.0, 'not measured')
    assert row['not_measured'] == ['version_switch_seconds'] and report['gate']['not_measured'] == \
        ['sh-0001: version_switch_seconds']
    page = open(sorted(glob.glob(str(tmp_path / 'pilot-*.html')))[-1]).read()
    assert 'Not measured (neither a pass nor a miss): sh-0001: version_switch_seconds' in page
    assert 'Not measured in this pilot.' in page and 'Material library current in the desktops' in page
