"""Fake Windows desktops for the storedesk lab: a WinRM (WS-Management) service that pywinrm talks
to unchanged, in front of a model of each desktop's Windows state. Scripts run statement by statement
(powershell.py -> psinterp.py, psoperators.py; cmdlets*.py, providers.py, pshost.py, dotnet.py act on model.py);
mutation.py is the mutation check of the shipped scripts.

    fleet = WindowsFleet(pve, users={'storedesk': 'pw'})
    await fleet.attach(vmid, '127.0.10.5')
    fleet.desktop(vmid).printers  # the model, for tests and lab hooks
"""

from .contracts import CONTRACTS, PsError, contract
from .fleet import WindowsFleet
from .model import Faults, UserProfile, WindowsDesktop

__all__ = ['WindowsFleet', 'WindowsDesktop', 'UserProfile', 'Faults', 'CONTRACTS', 'PsError', 'contract']

