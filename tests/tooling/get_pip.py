"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test installs pip into each of its virtualenvs with a get-pip script from
its own file host, which our build machines cannot reach. It looks for the script
in ~/.ansible/test/cache/get_pip_<version>.py first; `make sanity` puts this file
there, next to pip's wheel downloaded from PyPI. Like get-pip, it installs pip
from that wheel, with the arguments ansible-test passes (minus --no-setuptools and
--no-wheel, which only get-pip understands).
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GET_PIP_ONLY_FLAGS = ("--no-setuptools", "--no-wheel")


def main():
    wheels = sorted(glob.glob(os.path.join(HERE, "pip-*.whl")))
    if not wheels:
        sys.exit("no pip wheel next to {0}: run 'make sanity' to prepare the cache".format(__file__))
    sys.path.insert(0, wheels[-1])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
    return pip_main(["install", "--upgrade", "--force-reinstall", "--no-index", "--find-links", HERE] + args)


if __name__ == "__main__":
    sys.exit(main())
