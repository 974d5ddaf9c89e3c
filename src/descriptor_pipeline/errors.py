"""The one exception type users see: a one-line message naming the culprit and what to do."""


class PipelineError(Exception):
    """Bad input or configuration; the message is one line and names the file, column or config key."""
