"""``python -m opencode``: the same entry point as the ``opencode`` console script."""

import sys

from opencode.main import main

sys.exit(main())
