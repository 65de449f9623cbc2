"""Entry point for ``python tests/mock_server`` (run from the repository root) and ``python -m mock_server``."""

import os
import sys

if __package__:
    from .cli import main
else:
    # Run as a directory: sys.path[0] is this directory; put its parent there so that the
    # package imports as ``mock_server`` and its relative imports work.
    HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [path for path in sys.path if os.path.abspath(path or '.') != HERE]
    sys.path.insert(0, os.path.dirname(HERE))
    from mock_server.cli import main

if __name__ == '__main__':
    sys.exit(main())
