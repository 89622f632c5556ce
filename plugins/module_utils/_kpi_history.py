# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KPI history (private): one SQLite file that lasts, and its exports.

- WAL journal and a busy timeout, every write in one BEGIN IMMEDIATE transaction: two reviews writing at the
  same time wait for each other instead of failing (sqlite.org: "Write-Ahead Logging", "PRAGMA busy_timeout").
- The key (review, store, desktop, kpi) is unique: a rerun or a concurrent run of the same review adds nothing.
- Exports: Prometheus text exposition format for node_exporter's textfile collector (written to a temporary
  file in the same directory, then renamed, so the collector never reads half a file) and InfluxDB line protocol.
"""

from __future__ import annotations

import math
import os
import sqlite3
import tempfile

from ._retry import retry

SCHEMA = (
    'CREATE TABLE IF NOT EXISTS reviews (review TEXT PRIMARY KEY, at REAL NOT NULL)',
    'CREATE TABLE IF NOT EXISTS kpi (review TEXT NOT NULL, at REAL NOT NULL, store TEXT NOT NULL,'
    ' desktop TEXT NOT NULL DEFAULT \'\', kpi TEXT NOT NULL, value REAL, text TEXT, threshold REAL,'
    ' sense TEXT, ok INTEGER, PRIMARY KEY (review, store, desktop, kpi))',
    'CREATE INDEX IF NOT EXISTS kpi_store ON kpi (store, kpi, at)',
)
COLUMNS = ('review', 'at', 'store', 'desktop', 'kpi', 'value', 'text', 'threshold', 'sense', 'ok')
BUSY_MS = 30000


class HistoryError(Exception):
    def __init__(self, msg, field=None, fix=None):
        super().__init__(msg)
        self.field, self.fix = field, fix


def connect(path, create=True):
    if not create and not os.path.exists(path):
        raise HistoryError('the KPI history {0} does not exist'.format(path), 'path',
                           'run playbooks/review.yml once, or give the path of an existing history')
    folder = os.path.dirname(os.path.abspath(path))
    if create and not os.path.isdir(folder):
        os.makedirs(folder, mode=0o755, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_MS / 1000.0, isolation_level=None)
    conn.execute('PRAGMA busy_timeout={0}'.format(BUSY_MS))
    if create:
        _retry(lambda: conn.execute('PRAGMA journal_mode=WAL'))
        _retry(lambda: [conn.execute(sql) for sql in SCHEMA])
    return conn


def _retry(fn, attempts=20):
    """SQLite may answer 'database is locked' without waiting (e.g. while another connection switches to WAL)."""
    return retry(fn, lambda exc: isinstance(exc, sqlite3.OperationalError) and
                 ('locked' in str(exc) or 'busy' in str(exc)), attempts=attempts, base=0.05, cap=1.0)


def normalise(rows, review, at):
    """Validated rows: store, kpi required; value a number, or a text such as 'n/a'; desktop '' = the store."""
    out = []
    for i, row in enumerate(rows):
        where = 'rows[{0}]'.format(i)
        if not isinstance(row, dict):
            raise HistoryError('{0} is not a mapping'.format(where), where, 'give store, kpi and value')
        for key in ('store', 'kpi'):
            if not isinstance(row.get(key), str) or not row[key]:
                raise HistoryError('{0}.{1} is missing'.format(where, key), '{0}.{1}'.format(where, key),
                                   'give the store code and the KPI name')
        value, text = row.get('value'), None
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                value, text = None, value
        elif isinstance(value, bool) or (value is not None and not isinstance(value, (int, float))):
            raise HistoryError('{0}.value {1!r} is not a number'.format(where, value), where + '.value',
                               'give a number, null (not measured) or a text such as n/a')
        if isinstance(value, float) and math.isnan(value):
            value = None
        threshold = row.get('threshold')
        threshold = None if threshold in (None, '') else float(threshold)
        sense = row.get('sense')
        ok = row.get('ok')
        if ok is None and value is not None and threshold is not None and sense in ('max', 'min'):
            ok = value <= threshold if sense == 'max' else value >= threshold
        out.append((review, at, row['store'], row.get('desktop') or '', row['kpi'], value, text, threshold, sense,
                    None if ok is None else int(bool(ok))))
    return out


def record(conn, review, at, rows, check_mode=False):
    """Insert the rows not there yet; returns how many were (or would be) new."""
    values = normalise(rows, review, at)

    def write():
        conn.execute('BEGIN IMMEDIATE')
        try:
            before = conn.total_changes
            conn.execute('INSERT OR IGNORE INTO reviews (review, at) VALUES (?, ?)', (review, at))
            conn.executemany('INSERT OR IGNORE INTO kpi ({0}) VALUES ({1})'.format(
                ', '.join(COLUMNS), ', '.join('?' * len(COLUMNS))), values)
            added = conn.total_changes - before
            conn.execute('COMMIT')
            return added
        except BaseException:
            conn.execute('ROLLBACK')
            raise

    if check_mode:
        known = set(conn.execute('SELECT store, desktop, kpi FROM kpi WHERE review = ?', (review,)))
        new = len({(v[2], v[3], v[4]) for v in values} - known)
        return new + (0 if conn.execute('SELECT 1 FROM reviews WHERE review = ?', (review,)).fetchone() else 1)
    return _retry(write)


def query(conn, stores=None, kpis=None, last=None):
    """Rows of the last `last` reviews (all when None), oldest first, and those reviews."""
    reviews = [r[0] for r in conn.execute('SELECT review FROM reviews ORDER BY at DESC, review DESC' +
                                          (' LIMIT ?' if last else ''), (last,) if last else ())]
    where, args = ['review IN ({0})'.format(', '.join('?' * len(reviews)))], list(reviews)
    for name, values in (('store', stores), ('kpi', kpis)):
        if values:
            where.append('{0} IN ({1})'.format(name, ', '.join('?' * len(values))))
            args.extend(values)
    if not reviews:
        return [], []
    cur = conn.execute('SELECT {0} FROM kpi WHERE {1} ORDER BY at, review, store, desktop, kpi'.format(
        ', '.join(COLUMNS), ' AND '.join(where)), args)
    rows = [dict(zip(COLUMNS, r)) for r in cur]
    for row in rows:
        row['ok'] = None if row['ok'] is None else bool(row['ok'])
    return rows, list(reversed(reviews))


# --- exports ------------------------------------------------------------------------------------------------

def _prom_label(value):
    # Prometheus exposition format: label values escape backslash, double quote and newline.
    return str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def prometheus(rows):
    """Gauges of the newest value of each (store, desktop, kpi): value, threshold, ok."""
    latest = {}
    for row in rows:
        latest[(row['store'], row['desktop'], row['kpi'])] = row
    families = (
        ('storedesk_kpi_value', 'Newest measured value of a storedesk KPI.', 'value'),
        ('storedesk_kpi_threshold', 'Threshold of a storedesk KPI.', 'threshold'),
        ('storedesk_kpi_ok', 'Whether the newest value of a storedesk KPI met its threshold (1) or not (0).', 'ok'),
        ('storedesk_kpi_timestamp_seconds', 'When the newest value of a storedesk KPI was measured.', 'at'),
    )
    lines = []
    for name, help_text, key in families:
        lines.append('# HELP {0} {1}'.format(name, help_text))
        lines.append('# TYPE {0} gauge'.format(name))
        for (store, desktop, kpi), row in sorted(latest.items()):
            value = row[key]
            if value is None:
                continue
            labels = 'store="{0}",desktop="{1}",kpi="{2}"'.format(
                _prom_label(store), _prom_label(desktop), _prom_label(kpi))
            lines.append('{0}{{{1}}} {2}'.format(name, labels, repr(float(value))))
    return '\n'.join(lines) + '\n'


def _influx_tag(value):
    # Line protocol: tag keys and values escape commas, equals signs and spaces with a backslash.
    return str(value).replace('\\', '\\\\').replace(',', '\\,').replace('=', '\\=').replace(' ', '\\ ')


def _influx_str(value):
    return '"{0}"'.format(str(value).replace('\\', '\\\\').replace('"', '\\"'))


def influx(rows, measurement='storedesk_kpi'):
    """One line per row: tags store, kpi (and desktop when set); fields value/text, threshold, ok; ns time."""
    lines = []
    for row in rows:
        tags = [('kpi', row['kpi']), ('store', row['store'])] + ([('desktop', row['desktop'])] if row['desktop'] else [])
        fields = []
        if row['value'] is not None:
            fields.append('value={0!r}'.format(float(row['value'])))
        if row['text'] is not None:
            fields.append('text=' + _influx_str(row['text']))
        if row['threshold'] is not None:
            fields.append('threshold={0!r}'.format(float(row['threshold'])))
        if row['ok'] is not None:
            fields.append('ok=' + ('true' if row['ok'] else 'false'))
        fields.append('review=' + _influx_str(row['review']))
        tagset = ','.join('{0}={1}'.format(k, _influx_tag(v)) for k, v in tags)
        lines.append('{0},{1} {2} {3}'.format(measurement, tagset, ','.join(fields), int(round(row['at'] * 1e9))))
    return '\n'.join(lines) + ('\n' if lines else '')


def write_atomic(dest, content, mode=0o644):
    """Write to a temporary file in the same directory, then rename it over dest; True when it changed."""
    try:
        with open(dest) as fh:
            if fh.read() == content:
                return False
    except OSError:
        pass
    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(dest) + '.', dir=folder)
    try:
        with os.fdopen(fd, 'w') as fh:
            fh.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True
