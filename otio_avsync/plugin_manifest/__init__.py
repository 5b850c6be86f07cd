"""OTIO plugin manifest of otio-avsync (the package the entry point names).

From a checkout, point ``OTIO_PLUGIN_MANIFEST_PATH`` at ``plugin_manifest.json``
in this folder; an installed wheel registers it through its entry point.
"""
