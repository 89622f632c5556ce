"""Phase reports go to a directory the user owns, never next to the playbook (inside the installed collection).

The assessment runs against the lab with a HOME of its own: by default its reports land in
~/.local/share/storedesk/reports; `storedesk_report_dir` (or STOREDESK_REPORT_DIR) moves them. Nothing is
written under the collection's playbooks/.. (reports/). The read-only install itself is checked by make matrix.
"""

import glob
import os

from conftest import ROOT, run_playbook


def reports_in(path):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(str(path), 'assessment-*')))


def test_reports_go_to_the_users_data_dir_or_where_they_are_told(lab, tmp_path):
    home = tmp_path / 'home'
    home.mkdir()
    in_checkout = set(glob.glob(os.path.join(ROOT, 'reports', 'assessment-*')))
    env = {'HOME': str(home), 'STOREDESK_REPORT_DIR': '', 'XDG_DATA_HOME': ''}

    proc = run_playbook(lab, 'playbooks/assess.yml', env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    default = home / '.local' / 'share' / 'storedesk' / 'reports'
    found = reports_in(default)
    assert len(found) == 2 and found[0].endswith('.html') and found[1].endswith('.json'), found
    assert str(default) in proc.stdout                        # the run says where the report is

    chosen = tmp_path / 'chosen'
    proc = run_playbook(lab, 'playbooks/assess.yml', {'storedesk_report_dir': str(chosen)}, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert len(reports_in(chosen)) == 2 and len(reports_in(default)) == 2

    assert set(glob.glob(os.path.join(ROOT, 'reports', 'assessment-*'))) == in_checkout, 'nothing next to playbooks/'
