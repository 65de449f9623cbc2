"""NAO Cloud API v2 (/naocloud/api/v2): API key, session JWT and OAuth2 auth; JSON:API sites, tracking tags
("nao_trackables") and 303 background jobs. Built from ``core`` (the user's data, sessions, request rules), ``sites``
and ``trackables`` (with the jobs of their batches)."""

from starlette.routing import Route

from ..base import Vendor
from .core import NaoCore
from .model import error_response
from .sites import Sites
from .trackables import Trackables

PREFIX = 'naocloud'


class NaoCloud(Vendor):
    """One user of NAO Cloud."""

    name = 'naocloud'
    core_class = NaoCore

    def __init__(self, state):
        super().__init__(state)
        self.sites = Sites(self.core)
        self.trackables = Trackables(self.core, self.sites)
        self.parts = (self.sites, self.trackables)
        self.auth_routes = frozenset({('POST', '/api/v2/sessions')})
        self.mounts = {PREFIX: [Route('/api/v2/sessions', self.core.create_session, methods=['POST'])]
                       + self.sites.routes() + self.trackables.routes()}

    def dump(self):
        core = self.core
        core.settle()
        return {'sites': list(core.sites.values()), 'sessions': len(core.sessions),
                'trackables': {str(site_id): list(tags.values()) for site_id, tags in core.trackables.items()},
                'jobs': [job.item()['attributes'] for job in core.jobs.values()]}

    def error_response(self, status, message, prefix=None):
        return error_response(status, message)
