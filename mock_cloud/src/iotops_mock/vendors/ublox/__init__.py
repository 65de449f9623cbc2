"""u-blox Security Services: the vendor (``vendor``) composed of one object per area (``auth``, ``ztp``, ``tags``,
``devices``, ``webhooks``, ``fleet``) over one ``store``; ``models`` and ``pki`` are the devices, profiles and CAs."""

from .vendor import Ublox  # noqa: F401

__all__ = ['Ublox']
