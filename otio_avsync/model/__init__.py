"""The attention-based audio-visual synchronisation model.

Modules, in the order data flows through them:

- :mod:`~otio_avsync.model.config`: the architecture and training recipe (dataclasses);
- :mod:`~otio_avsync.model.frontend`: picture tiles (whole frame and mouth, found
  by MediaPipe's face mesh or OpenCV's Haar cascade) and log-mel sound features;
- :mod:`~otio_avsync.model.network`: the towers, fusion, attention and head (torch);
- :mod:`~otio_avsync.model.weights`: loading the weights shipped in the package;
- :mod:`~otio_avsync.model.scan`: the offset scan (candidates, refinement,
  calibrated confidence, attention maps) on pictures already through the front end;
- :mod:`~otio_avsync.model.corpus`, :mod:`~otio_avsync.model.train` and
  :mod:`~otio_avsync.model.evaluate`: the self-supervised training run behind
  ``otio-avsync train``, its calibration and injected-offset evaluation.

Nothing here imports :mod:`otio_avsync.estimators`: the estimator
(:mod:`otio_avsync.estimators.attention`) uses the model, never the reverse.
Nothing here imports torch at package import time.
"""
