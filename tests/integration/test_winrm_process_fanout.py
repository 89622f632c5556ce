"""A large WinRM fan-out over several processes, against fake desktops in a process of their own.

The client's CPU (requests, NTLM, message encryption: pure Python under one GIL) limits one process past a
few hundred desktops, so run_on_desktops deals them over worker processes (bench/bench_review.py measures it).
"""

from __future__ import annotations

import multiprocessing
import os

import pytest

import spnego._ntlm

from conftest_winrm import ECHO, PASSWORD, base_address, options, serve_fleet

from ansible_collections.storedesk.vdi.plugins.module_utils import _winrm_runner as runner

N = 9


@pytest.fixture(scope='module')
def desktops():
    prefix = base_address()
    addresses = [prefix + str(100 + i) for i in range(N)]
    here, there = multiprocessing.Pipe()
    proc = multiprocessing.get_context('spawn').Process(target=serve_fleet, args=(addresses, there), daemon=True)
    proc.start()
    assert here.poll(60) and here.recv() == 'ready'
    yield [{'name': 'fanout-{0:02d}'.format(i), 'address': a} for i, a in enumerate(addresses)]
    here.send('stop')
    proc.join(10)


def test_every_desktop_answers_in_order_from_three_processes(desktops):
    opts = options(concurrency=6)
    opts.processes = 3
    records = runner.run_on_desktops(opts, desktops, ECHO, lambda d: {'desktop': d['name'], 'pid': os.getpid()})
    assert [r['name'] for r in records] == [d['name'] for d in desktops]
    assert all(r['ok'] for r in records), [r['error'] for r in records if not r['ok']]
    # each desktop answered its own input (the echo), and the inputs were built in three processes
    assert [r['result']['desktop'] for r in records] == [d['name'] for d in desktops]
    assert len(set(r['result']['pid'] for r in records)) == 3


def test_a_worker_that_breaks_reports_its_desktops_and_the_rest_answer(desktops):
    parent = os.getpid()

    def payload(desktop):
        if os.getpid() != parent and desktop['name'] == 'fanout-01':
            raise RuntimeError('worker broke')
        return {}

    opts = options(concurrency=6)
    opts.processes = 3
    records = runner.run_on_desktops(opts, desktops, ECHO, payload)
    failed = [r['name'] for r in records if not r['ok']]
    assert failed == ['fanout-01', 'fanout-04', 'fanout-07']          # the share of the worker that broke
    assert all(r['error_category'] == 'internal' and 'outcome unknown' in r['error']
               for r in records if not r['ok'])


def test_the_ntlm_hashes_are_derived_once_per_run_not_per_desktop(desktops, monkeypatch):
    derived = []
    real = spnego._ntlm.lmowfv1
    monkeypatch.setattr(spnego._ntlm, 'lmowfv1', lambda password: derived.append(password) or real(password))
    opts = options(concurrency=4)
    opts.processes = 1
    records = runner.run_on_desktops(opts, desktops, ECHO, {})
    assert all(r['ok'] for r in records)
    # pyspnego was handed the LM:NT pair (its NTLMHash credential) for every security context, so it never
    # derived the LM hash from the password again (a pure-Python DES per desktop)
    assert derived == [] and opts.secret() != PASSWORD
    assert PASSWORD not in repr(records) and opts.secret() not in repr(records)
