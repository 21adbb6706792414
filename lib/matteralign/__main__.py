import sys

from matteralign.cli import main

sys.exit(main())
