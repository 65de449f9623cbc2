"""Made-up test credentials the mock server accepts; none of them is valid anywhere else."""

import os

KEYS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'keys')

# nRF Cloud: an API key is per user *and* per team (seed 000), so the mock has two teams.
NRFCLOUD_TEAM_A_LABEL = 'a'
NRFCLOUD_TEAM_A_TENANT_ID = '0a1b2c3d-0000-4000-8000-00000000000a'
NRFCLOUD_TEAM_A_NAME = 'Mock Team A'
NRFCLOUD_TEAM_A_API_KEY = 'a1a1acc3935e300d790e066c1c58c4b35769a4a2'

NRFCLOUD_TEAM_B_LABEL = 'b'
NRFCLOUD_TEAM_B_TENANT_ID = '0a1b2c3d-0000-4000-8000-00000000000b'
NRFCLOUD_TEAM_B_NAME = 'Mock Team B'
NRFCLOUD_TEAM_B_API_KEY = 'b2b2b04603476837d157913578c7d3745506a3ca'

NRFCLOUD_TEAMS = (
    {'label': NRFCLOUD_TEAM_A_LABEL, 'tenant_id': NRFCLOUD_TEAM_A_TENANT_ID,
     'name': NRFCLOUD_TEAM_A_NAME, 'api_key': NRFCLOUD_TEAM_A_API_KEY},
    {'label': NRFCLOUD_TEAM_B_LABEL, 'tenant_id': NRFCLOUD_TEAM_B_TENANT_ID,
     'name': NRFCLOUD_TEAM_B_NAME, 'api_key': NRFCLOUD_TEAM_B_API_KEY},
)

# u-blox Security Services: APIKey is UUID-shaped, APISecret 32 alphanumerics (seed 002 sample shapes).
UBLOX_API_KEY = '67b39eca-a888-46c4-b895-a7ba328360fc'
UBLOX_API_SECRET = 'PlrmodMOIVHFMO1A4aTMVQEtR7iWDX35'

# iotcomms.io: one tenant domain whose uploaded JWT public key is keys/iotcomms_public.pem.
IOTCOMMS_DOMAIN = 'factory.mock-eu-1.iotcomms.io'
IOTCOMMS_PUBLIC_KEY_PATH = os.path.join(KEYS_DIR, 'iotcomms_public.pem')
IOTCOMMS_PRIVATE_KEY_PATH = os.path.join(KEYS_DIR, 'iotcomms_private.pem')
IOTCOMMS_PRIVATE_KEY_ENCRYPTED_PATH = os.path.join(KEYS_DIR, 'iotcomms_private_encrypted.pem')
IOTCOMMS_KEY_PASSPHRASE = 'mock-iotcomms-key-passphrase'
# An unrelated RSA key: JWTs signed with it must be refused.
IOTCOMMS_WRONG_PRIVATE_KEY_PATH = os.path.join(KEYS_DIR, 'iotcomms_wrong_private.pem')

# NAO Cloud: one user with an API key (auth_token), a password and an OAuth2 access token.
NAOCLOUD_USER_ID = '4711'
NAOCLOUD_EMAIL = 'operator@example.com'
NAOCLOUD_PASSWORD = 'mock-operator-password'
NAOCLOUD_API_KEY = 'Odi1MV5lMU20H8IyBz47u00s'
NAOCLOUD_ACCESS_TOKEN = 'c8d45405bd86d73713254cda490b33bc95ab8882b1facee4c1f3077586492888'
NAOCLOUD_SITES = (
    {'id': 101, 'name': 'Mock Factory Hall', 'latitude': 48.1374, 'longitude': 11.5755},
    {'id': 102, 'name': 'Mock Warehouse', 'latitude': 48.1500, 'longitude': 11.5800},
)


def as_dict():
    """Every credential above by its constant name (JSON-ready): what ``iotops-mock credentials`` prints and
    ``GET /_mock/credentials`` serves, so that playbooks and scripts never parse this file."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in sorted(globals().items()) if name.isupper() and isinstance(value, (str, tuple))}
