"""The smoke flow on the cluster named by PVE_ACCEPTANCE_* (see acceptance_smoke.py for the steps)."""

from acceptance_smoke import Smoke


def test_smoke_flow(acceptance_target):
    Smoke(acceptance_target).run()
