"""Errors a user can fix: shown as one clear line, without a traceback."""


class UserError(Exception):
    """Something the user can fix (a setting, an argument, a missing file): one clear sentence
    naming what to fix, never a secret."""
