"""The one exception type the command line turns into a one-line message and exit code 2."""


class UserError(Exception):
    """A mistake in what the user asked for (unknown name, missing file, existing run directory...)."""
