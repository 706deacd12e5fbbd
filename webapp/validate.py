"""Replaced by webapp/errors.py (the error shape) and webapp/api/fields.py (the field types);
kept only so `from webapp.validate import ApiError` (webapp/siwe.py) goes on working until it
imports webapp.errors."""

from webapp.errors import ApiError

__all__ = ["ApiError"]
