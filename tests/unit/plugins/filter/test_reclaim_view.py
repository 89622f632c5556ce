"""The reclaim page: what was destroyed, what was kept and why, and the figures - never a title alone."""

import re

from ansible_collections.storedesk.vdi.plugins.filter.reclaim_view import reclaim_view
from ansible_collections.storedesk.vdi.plugins.plugin_utils._report_html import render


def data():
    destroyed = [{'store': 'sh-%04d' % s, 'name': 'sh-%04d-d%02d' % (s, i), 'vmid': 1000 + s * 10 + i,
                  'node': 'pve-e1', 'action': 'destroy', 'status': 'ok', 'backup': 'vzdump',
                  'reason': 'scale down to 4'} for s in range(1, 9) for i in range(5, 9)]
    kept = [{'store': 'sh-0001', 'name': 'sh-0001-d09', 'vmid': 1019, 'node': 'pve-e2', 'action': 'keep',
             'reason': 'in use: clerk.li logged in'}]
    summary = dict(('sh-%04d' % s, {'desktops_before': 9 if s == 1 else 8}) for s in range(1, 9))
    return {'reclaim_to': 'baseline', 'backup': 'vzdump', 'stores': sorted(summary), 'destroyed': destroyed,
            'kept': kept, 'failed': [], 'summary': summary}


def text_of(html):
    return re.sub(r'<[^>]+>', ' ', html)


def test_the_page_lists_every_destroyed_and_kept_desktop_with_figures():
    html = render(reclaim_view(data()))
    text = text_of(html)
    assert '32 desktop(s) destroyed, 1 kept, 0 failed' in text
    for s in range(1, 9):
        for i in range(5, 9):
            assert 'sh-%04d-d%02d' % (s, i) in text
    assert 'sh-0001-d09' in text and 'in use: clerk.li logged in' in text
    assert re.search(r'Desktops before / after\s*</?\w*[^>]*>?\s*65 / 33', html) or '65 / 33' in text
    assert '64' in text and '128 GiB' in text     # 32 x 2 vCPUs, 32 x 4 GiB given back
    assert text.count('vzdump') >= 32


def test_failures_turn_the_verdict_red_and_are_listed():
    d = data()
    d['failed'] = [{'store': 'sh-0002', 'name': 'sh-0002-d05', 'vmid': 1025, 'action': 'destroy',
                    'error': 'VM is locked (backup)'}]
    view = reclaim_view(d)
    assert view['verdict']['ok'] is False
    assert 'VM is locked (backup)' in text_of(render(view))
