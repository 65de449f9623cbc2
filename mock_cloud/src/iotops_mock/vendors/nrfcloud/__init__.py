"""nRF Cloud: the vendor (``vendor``), the state both its hosts share (``core``), the device API (``devices``), the
Provisioning Service (``provisioning``), the simulated devices (``simulator``), their commands (``commands``) and
attestation tokens (``attestation``)."""

# make_attestation_token is re-exported so that tests can build tokens: from iotops_mock.vendors.nrfcloud import make_attestation_token
from .attestation import make_attestation_token, parse_attestation_token  # noqa: F401 pylint: disable=unused-import
from .vendor import NrfCloud  # noqa: F401

__all__ = ['NrfCloud', 'make_attestation_token', 'parse_attestation_token']
