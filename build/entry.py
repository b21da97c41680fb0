"""The packaged app's entry point: the same `openchat` command as from source."""

import multiprocessing
import sys

from openchat_desktop.cli import main

if __name__ == "__main__":
    # A PDF's text is read in a spawned child: started as this executable, it must run that
    # child's work instead of the app.
    multiprocessing.freeze_support()
    sys.exit(main())
