"""The packaged app's entry point: the same `openchat` command as from source."""

import sys

# The built-in engine's child is this executable too: checked before the app is imported, so
# the child loads only what serving a model needs.
if __name__ == "__main__" and sys.argv[1:2] == ["--local-engine-child"]:
    from openchat_desktop.local.child import main as engine_child

    sys.exit(engine_child())

import multiprocessing

from openchat_desktop.cli import main

if __name__ == "__main__":
    # A PDF's text is read in a spawned child: started as this executable, it must run that
    # child's work instead of the app.
    multiprocessing.freeze_support()
    sys.exit(main())
