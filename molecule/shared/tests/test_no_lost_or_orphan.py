"""After faults: every store desktop exists once, unlocked, in its pool, named as the pattern says."""

import collections

from test_lab_state import desired, guests, stores


def test_no_desktop_lost_duplicated_or_half_made(host):
    for region in sorted(set(stores().values())):
        vms = [v for v in guests(region) if not v.get('template')]
        names = collections.Counter(v.get('name') for v in vms)
        assert [n for n, c in names.items() if c > 1] == [], 'duplicated desktops in ' + region
        assert [v['name'] for v in vms if v.get('lock')] == [], 'half-made (locked) VMs in ' + region
        for code, where in stores().items():
            if where != region:
                continue
            tagged = [v for v in vms if 'store-' + code in v.get('tags', '').split(';')]
            assert all(v.get('pool') == 'store-' + code for v in tagged), code + ': a clone outside its pool'
            assert sorted(v['name'] for v in tagged) == ['{0}-d{1:02d}'.format(code, i + 1)
                                                         for i in range(desired(code))], code
