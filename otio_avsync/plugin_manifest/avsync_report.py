"""OTIO adapter that writes the sync audit report of an annotated timeline (``.avsync``)."""

from otio_avsync.plugin import write_report_to_string


def write_to_string(input_otio, format="json"):
    return write_report_to_string(input_otio, format)
