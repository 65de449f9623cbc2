"""iotcomms.io: the vendor (``vendor``: auth, devices, bulk jobs) and its records and rules (``model``)."""

from .vendor import Iotcomms  # noqa: F401

__all__ = ['Iotcomms']
