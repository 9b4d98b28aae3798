"""`python -m evi_toolhost ...` is the `evi-toolhost` command."""

import sys

from evi_toolhost.cli import main

sys.exit(main())
