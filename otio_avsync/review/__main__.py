"""``python -m otio_avsync.review [ANNOTATED.otio]`` opens the review panel."""

import sys

from otio_avsync.review import main

sys.exit(main())
