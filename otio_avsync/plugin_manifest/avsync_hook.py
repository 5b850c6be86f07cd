"""OTIO hook script: audit sync on read when asked (``-H avsync=1`` or ``OTIO_AVSYNC=1``)."""

from otio_avsync.plugin import post_adapter_read


def hook_function(in_timeline, argument_map=None):
    return post_adapter_read(in_timeline, argument_map)
