"""`python -m register.platform.cli` runs the command line; `lamplighter up` starts its children
so."""

import sys

from register.platform.cli import main

sys.exit(main())
