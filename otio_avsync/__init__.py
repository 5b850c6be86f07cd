"""otio-avsync: audio-visual sync checking for OpenTimelineIO timelines.

Data flows one way: timeline -> analysis jobs (:mod:`otio_avsync.jobs`) ->
media decoding (:mod:`otio_avsync.decode`, :mod:`otio_avsync.render`) ->
estimator (:mod:`otio_avsync.estimators`) -> results (:mod:`otio_avsync.results`)
-> annotation and reports (:mod:`otio_avsync.annotate`, :mod:`otio_avsync.report`).
:mod:`otio_avsync.audit` runs that pipeline; the CLI, the OTIO plugin and the
review panel are thin doors onto it.

This module stays import-light: OTIO imports plugin modules in every tool.
"""

__version__ = "0.1.0"

#: Key of everything this package writes into OTIO metadata.
METADATA_KEY = "otio_avsync"
