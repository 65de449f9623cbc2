"""Vendor routers of the mock server, one sub-package per vendor cloud."""

from .iotcomms import Iotcomms
from .naocloud import NaoCloud
from .nrfcloud import NrfCloud
from .ublox import Ublox

# Order is the order of /_mock/state keys and of the counters' by_vendor entries.
VENDOR_CLASSES = (NrfCloud, Ublox, Iotcomms, NaoCloud)
