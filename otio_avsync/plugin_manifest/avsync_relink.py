"""OTIO media linker: relink offline media by file name (``-m avsync_relink -M search=DIR``)."""

from otio_avsync.plugin import link_media_reference  # noqa: F401
