"""``python -m iotops_mock``: the same command line as the ``iotops-mock`` console script."""

import sys

from .cli import main

if __name__ == '__main__':
    sys.exit(main())
