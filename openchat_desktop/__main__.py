"""`python -m openchat_desktop …` runs the `openchat` command."""

import sys

from .cli import main

sys.exit(main())
