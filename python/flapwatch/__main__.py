import sys

from flapwatch.cli import main

sys.exit(main())
