"""Errors that mean "the user's input is wrong", reported without a traceback."""


class AvsyncError(Exception):
    """A user-facing error: bad input, missing file, unsupported media.

    The CLI prints ``str(error)`` and exits with status 2; the pipeline turns
    one raised for a single clip into that clip's status and goes on.
    """


class MediaError(AvsyncError):
    """A media file cannot be opened or decoded (missing, corrupt, no stream)."""


class TimelineError(AvsyncError):
    """A timeline cannot be read or written."""
