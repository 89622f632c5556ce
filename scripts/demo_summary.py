"""The demo's closing summary: each phase's time and headline, and where its reports are."""

import argparse
import glob
import json
import os


def headline(phase, data):
    if phase == 'assessment':
        stores = data.get('stores', [])
        return '{0}/{1} stores ready'.format(sum(s['verdict'] == 'GO' for s in stores), len(stores))
    if phase == 'pilot':
        gate = data.get('gate', {})
        return 'gate {0}'.format('passed' if gate.get('passed') else 'MISSED: ' + '; '.join(gate.get('misses', [])))
    if phase == 'rollout':
        stores = data.get('stores', [])
        return '{0} stores rolled out, {1} failed'.format(sum(s['status'] != 'failed' for s in stores),
                                                        sum(s['status'] == 'failed' for s in stores))
    if phase == 'golden_image':
        return '; '.join('{0} {1} {2}'.format(r['region'], r['action'], r['template']) for r in data.get('regions', []))
    if phase == 'scale_event':
        rows = data.get('stores', [])
        return '{0} desktops added over {1} stores, {2:.0f} vCPU-hours'.format(
            sum(r['added'] for r in rows), len(rows), sum(r['vcpu_hours'] for r in rows))
    if phase == 'reclaim':
        return 'destroyed {0} desktop(s), kept {1} (with the reasons in the report)'.format(
            len(data.get('destroyed', [])), len(data.get('kept', [])))
    if phase == 'review':
        stores = data.get('stores', [])
        failing = [s['store'] for s in stores if s.get('verdict') == 'FAIL']
        return '{0} stores reviewed, {1} missed a KPI{2}; {3} change(s) since the last review; {4} drift(s)'.format(
            len(stores), len(failing), ' (worst first: ' + ', '.join(failing[:4]) + ')' if failing else '',
            len(data.get('changes', [])), len(data.get('drift') or []))
    keys = [k for k in ('summary', 'totals') if isinstance(data.get(k), dict)]
    if keys:
        return ', '.join('{0} {1}'.format(k, v) for k, v in list(data[keys[0]].items())[:5])
    return ''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--since', required=True)
    parser.add_argument('--total', type=int, required=True)
    parser.add_argument('timings', nargs='*')
    args = parser.parse_args()
    since = os.path.getmtime(args.since)
    reports = sorted((f for f in glob.glob('reports/*.json') if os.path.getmtime(f) >= since), key=os.path.getmtime)
    times = dict(t.split('=', 1) for t in args.timings)
    print('\n=== storedesk.vdi demo: summary ===')
    print('{0:<14} {1:>6}  {2}'.format('phase', 'time', 'result'))
    by_phase = {}
    for path in reports:
        with open(path) as fh:
            data = json.load(fh)
        by_phase.setdefault(data.get('phase', os.path.basename(path).split('-')[0]), []).append((path, data))
    for name, secs in times.items():
        phase = {'golden-image': 'golden_image', 'event-scale': 'scale_event'}.get(name, name)
        found = by_phase.get(phase) or by_phase.get(name) or []
        line = headline(phase, found[-1][1]) if found else ''
        if phase == 'inspect':   # one report per store: inspect-<store>
            pages = [runs[-1][1] for key, runs in by_phase.items() if key.startswith('inspect-')]
            line = '{0} store page(s), {1} open problem(s)'.format(
                len(pages), sum(len(p.get('problems', [])) for p in pages))
        print('{0:<14} {1:>5}s  {2}'.format(name, secs, line[:110]))
    print('{0:<14} {1:>5}s'.format('total', args.total))
    print('\nreports (HTML for people, JSON for machines):')
    for path in reports:
        html = path[:-5] + '.html'
        print('  ' + (html if os.path.exists(html) else path))
    if os.path.exists('reports/index.html'):
        print('  reports/index.html (the estate at a glance: every store, every report)')
    audit = 'reports/audit.jsonl'
    if os.path.exists(audit):
        with open(audit) as fh:
            print('  {0} ({1} changed-task lines)'.format(audit, sum(1 for _ in fh)))


if __name__ == '__main__':
    main()
