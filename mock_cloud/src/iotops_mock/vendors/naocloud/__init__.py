"""NAO Cloud: the vendor (``vendor``) composed of ``core`` (data, sessions, request rules), ``sites`` and ``trackables``;
``model`` holds the validation rules, jobs and error bodies."""

from .vendor import NaoCloud  # noqa: F401

__all__ = ['NaoCloud']
