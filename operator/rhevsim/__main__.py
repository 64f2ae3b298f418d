"""`python -m rhevsim serve ...`."""

from __future__ import annotations

import sys

from rhevsim.cli import main

sys.exit(main())
