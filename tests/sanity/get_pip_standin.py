"""Stand-in for ansible-test's get-pip-<ver>.py, used only where that download is unreachable.

ansible-test runs the bootstrap script as `python get-pip.py pip==X --no-setuptools --no-wheel ...`.
This bootstraps pip from the interpreter's own ensurepip, then lets pip install the asked-for version
with the machine's pip configuration (ensurepip leaves PIP_CONFIG_FILE/ENSUREPIP_OPTIONS set, which
would hide the machine's index and CA).
"""

import ensurepip
import os
import subprocess
import sys


def main():
    ensurepip.bootstrap(upgrade=True)
    for name in ('PIP_CONFIG_FILE', 'ENSUREPIP_OPTIONS'):
        os.environ.pop(name, None)
    args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
    return subprocess.call([sys.executable, '-m', 'pip', 'install'] + args)


if __name__ == '__main__':
    sys.exit(main())
