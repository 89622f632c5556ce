"""`GET /nodes/{node}/tasks` as PVE lists tasks (fakepve leaves a running task without a status).

pve-manager PVE/API2/Tasks.pm `node_tasks` (stable-8 and master alike):
- `source=active|all` first lists the tasks of the node's active-workers file: a task still running has
  no status there and is listed with `status: "RUNNING"` (`$task->{status} = 'RUNNING' if !$task->{status}`);
  `source=archive` (the default) then `all` lists the archived ones, newest first, with `endtime` and
  the exit status in `status` ('OK', 'WARNINGS: n' or the error text).
- filters: `userfilter` (substring, case-insensitive), `typefilter`, `vmid`, `since`/`until` (starttime),
  `statusfilter` (ok, warning, error, unknown; pve-common PVE/UPID.pm `normalize_status_type`: the filter
  runs before RUNNING is filled in, so a running task counts as 'unknown'), `errors=1` (all but ok);
  a user sees its own tasks (and its tokens') unless it has Sys.Audit on /nodes/{node}.
"""

import re

from fakepve.server import USER, ok, params

__all__ = ['TaskListApi', 'normalize_status_type']


def normalize_status_type(status):
    """pve-common PVE/UPID.pm normalize_status_type."""
    if not status:
        return 'unknown'
    if status == 'OK':
        return 'ok'
    if re.fullmatch(r'WARNINGS: \d+', status):
        return 'warning'
    if status == 'unexpected status':
        return 'unknown'
    return 'error'


class TaskListApi(object):
    """Mixin of the lab's FakePve: the task list (also keeps the lab's CPU flat: the log is read from the
    newest end and `since` stops the walk)."""

    def _task_view(self, task, listing=False):
        data = super()._task_view(task, listing)
        if listing and task['status'] == 'running':
            data['status'] = 'RUNNING'      # Tasks.pm node_tasks, active workers without a status
            data.pop('endtime', None)
        return data

    async def _task_list(self, request):
        node = request.match_info['node']
        user = request[USER]
        p = self._verify(request, await params(request))
        vmid, since, until = p.get('vmid'), p.get('since'), p.get('until')
        kind, source = p.get('typefilter'), p.get('source', 'archive')
        who = (p.get('userfilter') or '').lower()
        wanted = {'ok', 'warning', 'error', 'unknown'}
        if p.get('statusfilter') is not None and not p.get('errors'):
            wanted = set(s.strip().lower() for s in re.split(r'[,;\s]+', str(p['statusfilter'])) if s.strip())
        elif p.get('errors'):
            wanted.discard('ok')
        audit = self.allowed(user, '/nodes/' + node, 'Sys.Audit')
        active, archive = [], []
        for task in reversed(self.tasklog):          # newest first
            if since is not None and task['starttime'] < int(since):
                break                                  # the log is in start order: nothing older matches
            if task['node'] != node or (vmid is not None and task['id'] != str(vmid)):
                continue
            if until is not None and task['starttime'] > int(until):
                continue
            if kind and task['type'] != kind:
                continue
            if who and who not in task['user'].lower():
                continue
            if not (audit or self._task_owner(user, task)):
                continue
            running = task['status'] == 'running'
            # the filter runs before RUNNING is filled in: a running task normalises as 'unknown'
            if normalize_status_type(None if running else task.get('exitstatus')) not in wanted:
                continue
            if running and source in ('active', 'all'):
                active.append(task)
            elif not running and source in ('archive', 'all'):
                archive.append(task)
        archive.sort(key=lambda t: -t['starttime'])
        rows = active + archive
        start = p.get('start', 0)
        return ok([self._task_view(t, True) for t in rows[start:start + p.get('limit', 50)]])
