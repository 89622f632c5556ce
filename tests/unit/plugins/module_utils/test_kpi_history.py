"""The KPI history: survives repeated and concurrent runs without duplicates; exports parse with their formats'
own parsers (prometheus_client's text parser, line-protocol-parser for InfluxDB line protocol)."""

import multiprocessing
import os
import sqlite3

import line_protocol_parser
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.storedesk.vdi.plugins.module_utils import _kpi_history as kh


def _rows(store_count=30, latency=40.0):
    out = []
    for i in range(store_count):
        store = 'st-{0:04d}'.format(i)
        out.append({'store': store, 'kpi': 'backend_latency_ms', 'value': latency + i, 'threshold': 80, 'sense': 'max'})
        out.append({'store': store, 'kpi': 'print_success_pct', 'value': 100.0, 'threshold': 95, 'sense': 'min'})
        out.append({'store': store, 'kpi': 'account_switch_seconds', 'value': 'n/a'})
        out.append({'store': store, 'desktop': store + '-d01', 'kpi': 'scanner_present', 'value': 1})
    return out


def _count(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute('SELECT count(*) FROM kpi').fetchone()[0], \
            conn.execute('SELECT count(*) FROM (SELECT DISTINCT review, store, desktop, kpi FROM kpi)').fetchone()[0]
    finally:
        conn.close()


def test_repeated_record_adds_nothing(tmp_path):
    path = str(tmp_path / 'h.sqlite')
    conn = kh.connect(path)
    assert kh.record(conn, 'r1', 1000.0, _rows()) == 121            # 120 rows + the review
    assert kh.record(conn, 'r1', 1000.0, _rows()) == 0
    assert kh.record(conn, 'r1', 1000.0, _rows(), check_mode=True) == 0
    assert kh.record(conn, 'r2', 2000.0, _rows(), check_mode=True) == 121
    assert _count(path) == (120, 120)
    assert conn.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'


def _writer(path, review, at, barrier):
    conn = kh.connect(path)
    barrier.wait()
    for _ in range(5):                                              # the same review, again and again
        kh.record(conn, review, at, _rows(200))


def test_concurrent_writers_neither_fail_nor_duplicate(tmp_path):
    path = str(tmp_path / 'h.sqlite')
    ctx = multiprocessing.get_context('spawn')
    barrier = ctx.Barrier(4)
    # two runs of the same review and two of another, all at once, on a file none of them created first
    procs = [ctx.Process(target=_writer, args=(path, review, at, barrier))
             for review, at in (('r1', 1000.0), ('r1', 1000.0), ('r2', 2000.0), ('r2', 2000.0))]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert _count(path) == (1600, 1600)
    rows, reviews = kh.query(kh.connect(path, create=False))
    assert reviews == ['r1', 'r2'] and len(rows) == 1600


def test_prometheus_export_parses_with_prometheus_client(tmp_path):
    conn = kh.connect(str(tmp_path / 'h.sqlite'))
    kh.record(conn, 'r1', 1000.0, _rows(3, latency=90.0))
    kh.record(conn, 'r2', 2000.0, _rows(3, latency=40.0) + [{'store': 'odd "store"\\', 'kpi': 'x', 'value': 1}])
    rows, _ = kh.query(conn)
    dest = str(tmp_path / 'textfile' / 'storedesk.prom')
    assert kh.write_atomic(dest, kh.prometheus(rows)) is True
    assert kh.write_atomic(dest, kh.prometheus(rows)) is False
    assert [n for n in os.listdir(str(tmp_path / 'textfile'))] == ['storedesk.prom'], 'no temporary file is left'
    with open(dest) as fh:
        families = {f.name: f for f in text_string_to_metric_families(fh.read())}
    assert set(families) == {'storedesk_kpi_value', 'storedesk_kpi_threshold', 'storedesk_kpi_ok',
                             'storedesk_kpi_timestamp_seconds'}
    values = {(s.labels['store'], s.labels['kpi']): s.value for s in families['storedesk_kpi_value'].samples}
    assert values[('st-0001', 'backend_latency_ms')] == 41.0, 'the newest review wins'
    assert values[('odd "store"\\', 'x')] == 1.0
    assert ('st-0001', 'account_switch_seconds') not in values, 'n/a is not a number'
    ok = {(s.labels['store'], s.labels['kpi']): s.value for s in families['storedesk_kpi_ok'].samples}
    assert ok[('st-0001', 'backend_latency_ms')] == 1.0


def test_influx_export_parses_with_a_line_protocol_parser(tmp_path):
    conn = kh.connect(str(tmp_path / 'h.sqlite'))
    kh.record(conn, 'r1', 1000.5, _rows(2, latency=90.0) + [{'store': 'a b,c=d', 'kpi': 'x', 'value': 'n/a'}])
    rows, _ = kh.query(conn)
    lines = kh.influx(rows).splitlines()
    assert len(lines) == len(rows) == 9
    parsed = [line_protocol_parser.parse_line(line) for line in lines]
    first = next(p for p in parsed if p['tags'] == {'kpi': 'backend_latency_ms', 'store': 'st-0001'})
    assert first['measurement'] == 'storedesk_kpi' and first['time'] == 1000500000000
    assert first['fields'] == {'value': 91.0, 'threshold': 80.0, 'ok': False, 'review': 'r1'}
    odd = next(p for p in parsed if p['tags'].get('kpi') == 'x')
    assert odd['tags']['store'] == 'a b,c=d' and odd['fields']['text'] == 'n/a'
    desk = next(p for p in parsed if 'desktop' in p['tags'])
    assert desk['tags']['desktop'] == 'st-0000-d01'


def test_bad_rows_name_the_field():
    with pytest.raises(kh.HistoryError) as err:
        kh.normalise([{'store': 'sh-0001', 'kpi': 'x', 'value': [1]}], 'r', 0)
    assert err.value.field == 'rows[0].value'
    with pytest.raises(kh.HistoryError) as err:
        kh.normalise([{'kpi': 'x'}], 'r', 0)
    assert err.value.field == 'rows[0].store'
