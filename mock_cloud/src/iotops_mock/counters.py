"""Call counters per vendor, category, endpoint and status; plain dict increments on the hot path."""

CATEGORIES = ('auth', 'read', 'write')
AGENT_PREFIX = 'iotops.provisioning ('   # the collection's modules send "iotops.provisioning (<module>)" as User-Agent


class Counters:
    """What GET /_mock/counters returns. Keys are '<vendor> <METHOD> <route template>'."""

    def __init__(self, vendors):
        self.vendors = tuple(vendors)
        self.total = 0
        self.by_category = {}
        self.by_vendor = {}
        self.endpoints = {}
        self.statuses = {}
        self.faults_fired = 0
        # which module called which endpoint, for the whole life of the mock (a reset keeps it): docs/api-coverage.md
        self.callers = {}
        self.reset()

    def reset(self):
        self.total = 0
        self.by_category = dict.fromkeys(CATEGORIES, 0)
        self.by_vendor = {vendor: dict.fromkeys(CATEGORIES + ('total',), 0) for vendor in self.vendors}
        self.endpoints = {}
        self.statuses = {}
        self.faults_fired = 0

    def hit(self, vendor, category, key, agent=None):
        if agent is not None and agent.startswith(AGENT_PREFIX):
            per_key = self.callers.setdefault(key, {})
            module = agent[len(AGENT_PREFIX):].rstrip(')')
            per_key[module] = per_key.get(module, 0) + 1
        self.total += 1
        self.by_category[category] += 1
        bucket = self.by_vendor[vendor]
        bucket[category] += 1
        bucket['total'] += 1
        self.endpoints[key] = self.endpoints.get(key, 0) + 1

    def status(self, key, status):
        # status is an int, or 'dropped' when the connection was closed instead of answering.
        per_key = self.statuses.get(key)
        if per_key is None:
            per_key = self.statuses[key] = {}
        status = str(status)
        per_key[status] = per_key.get(status, 0) + 1

    def snapshot(self):
        return {
            'total': self.total,
            'by_category': dict(self.by_category),
            'by_vendor': {vendor: dict(bucket) for vendor, bucket in self.by_vendor.items()},
            'endpoints': dict(self.endpoints),
            'statuses': {key: dict(value) for key, value in self.statuses.items()},
            'faults_fired': self.faults_fired,
            'callers': {key: dict(value) for key, value in self.callers.items()},
        }
