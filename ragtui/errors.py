"""The one base class for errors a user should see as a single clear line."""


class RagtuiError(Exception):
    """Raised with a message that says what went wrong and what to do about it."""
