"""``python -m otio_avsync.ui [ANNOTATED.otio]`` opens the review panel."""

import sys

from otio_avsync.ui import main

sys.exit(main())
