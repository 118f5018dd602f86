"""`python -m register.cli` runs the command line (used by `lamplighter up` for its children)."""

import sys

from register.cli import main

sys.exit(main())
