"""The packaged app's entry point: the same `openchat` command as from source."""

import sys

from openchat_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
