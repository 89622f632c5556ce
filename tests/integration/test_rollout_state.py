"""rollout_state keeps which stores are done in their pools' comments (read back through the API)."""

from conftest import api, api_get, run_module


def pool_comment(lab, pool):
    return dict((p['poolid'], p.get('comment')) for p in api_get(api(lab), '/pools')).get(pool)


def test_mark_query_and_unmark(lab):
    session = api(lab)
    for pool in ('store-zz-0001', 'store-zz-0002'):
        session.post(session.base + '/pools', data={'poolid': pool, 'comment': 'storedesk store desktops'},
                     verify=session.verify).raise_for_status()
    rc, out = run_module(lab, 'rollout_state', {'stores': ['zz-0001', 'zz-0002'], 'version': '1.0.0'})
    assert rc == 0 and out['pending'] == ['zz-0001', 'zz-0002'] and out['changed'] is False
    rc, out = run_module(lab, 'rollout_state', {'stores': ['zz-0001'], 'version': '1.0.0', 'state': 'done'},
                         check=True)
    assert out['changed'] is True and 'rollout done' not in pool_comment(lab, 'store-zz-0001')
    rc, out = run_module(lab, 'rollout_state', {'stores': ['zz-0001'], 'version': '1.0.0', 'state': 'done'})
    assert rc == 0 and out['changed'] is True
    assert pool_comment(lab, 'store-zz-0001').startswith('storedesk store desktops | rollout done v1.0.0 ')
    rc, out = run_module(lab, 'rollout_state', {'stores': ['zz-0001'], 'version': '1.0.0', 'state': 'done'})
    assert out['changed'] is False, 'marking twice changes nothing'
    rc, out = run_module(lab, 'rollout_state', {'stores': ['zz-0001', 'zz-0002'], 'version': '1.1.0'})
    assert out['pending'] == ['zz-0001', 'zz-0002'], 'done with another version is not done'
    rc, out = run_module(lab, 'rollout_state', {'stores': ['zz-0001'], 'version': '1.0.0', 'state': 'pending'})
    assert out['changed'] is True and pool_comment(lab, 'store-zz-0001') == 'storedesk store desktops'
