"""u-blox tags (/tag/create, get, delete, assign, remove): case-insensitive names assigned to devices and device profiles."""

from ...common import BadRequest, json_response, shown, utc_iso
from ..base import seed_list
from .api import SUCCESS, bad, fail, page, str_list

TAG_NAME_MAX = 255
# Seed 002 /tag/create; the list has an empty item between | and , which we read as a lost backslash.
TAG_FORBIDDEN = '^`~<>"{}|\\,'


class Tag:
    """A u-blox tag and what it is assigned to."""

    def __init__(self, name, created):
        self.name = name
        self.created = created
        self.rot_public_uids = set()
        self.device_profile_uids = set()

    def public(self):
        return {'TagName': self.name, 'CreatedDate': utc_iso(self.created)}

    def dump(self):
        return dict(self.public(), ROTPublicUIDs=sorted(self.rot_public_uids), DeviceProfileUIDs=sorted(self.device_profile_uids))


def tag_key(name):
    """Tag names are case-insensitive (seed 002)."""
    return name.casefold()


class Tags:
    """The tag calls; the tags live in the store, next to the devices and profiles they are assigned to."""

    def __init__(self, store, auth):
        self.store = store
        self.auth = auth

    def routes(self):
        return [('/tag/create', self.tag_create), ('/tag/get', self.tag_get), ('/tag/delete', self.tag_delete),
                ('/tag/assign', self.tag_assign), ('/tag/remove', self.tag_remove)]

    @staticmethod
    def tag_name_problem(name):
        """Why a TagName breaks the seed 002 rules, or None."""
        if not isinstance(name, str) or not name:
            return 'TagName is required'
        if len(name) > TAG_NAME_MAX:
            return 'TagName can only be %d characters long' % TAG_NAME_MAX
        for char in name:
            if char in TAG_FORBIDDEN:
                return 'TagName must not contain the symbol %s' % char
            if ord(char) < 32 or ord(char) == 127:
                return 'TagName must not contain control characters'
        return None

    def add_tag(self, name):
        problem = self.tag_name_problem(name)
        if problem:
            raise fail(400, 'Bad Request. ' + problem)
        if tag_key(name) in self.store.tags:
            # Tag names are case-insensitive, so "Downtown" duplicates "downtown".
            raise fail(400, 'Bad Request. TagName already exists')
        tag = Tag(name, self.store.clock.now())
        self.store.tags[tag_key(name)] = tag
        return tag

    def tags_named(self, names):
        missing = [name for name in names if tag_key(name) not in self.store.tags]
        if missing:
            raise bad('Invalid TagNames: %s' % shown(missing))
        return [self.store.tags[tag_key(name)] for name in names]

    def tagged(self, names):
        tags = self.tags_named(names)
        rots = set()
        for tag in tags:
            rots.update(tag.rot_public_uids)
        return [self.store.devices[rot] for rot in sorted(rots) if rot in self.store.devices]

    async def tag_create(self, request):
        data = await self.auth.authed_body(request)
        self.add_tag(data.get('TagName'))
        return json_response(SUCCESS)

    async def tag_get(self, request):
        data = await self.auth.authed_body(request)
        return page(data, list(self.store.tags.values()), 'Tags', Tag.public)

    async def tag_delete(self, request):
        data = await self.auth.authed_body(request, ('TagName',))
        tag = self.store.tags.get(tag_key(data['TagName']))
        if tag is None:
            raise fail(404, 'Not Found. TagName does not exist')
        if tag.rot_public_uids or tag.device_profile_uids:
            raise fail(400, 'Request aborted. This tag is currently assigned to ROTPublicUID(s)')
        del self.store.tags[tag_key(tag.name)]
        return json_response(SUCCESS)

    def assignment_targets(self, data, wildcard):
        rots = str_list(data, 'ROTPublicUIDs')
        profiles = str_list(data, 'DeviceProfileUIDs')
        if not rots and not profiles:
            raise bad('ROTPublicUIDs or DeviceProfileUIDs is required')
        if wildcard and rots == ['*']:
            rots = '*'
        elif rots:
            rots = [rot.lower() for rot in rots]
        if wildcard and profiles == ['*']:
            profiles = '*'
        return rots or [], profiles or []

    async def tag_assign(self, request):
        data = await self.auth.authed_body(request)
        tags = self.tags_named(str_list(data, 'TagNames', required=True))
        rots, profiles = self.assignment_targets(data, wildcard=False)
        unknown = [rot for rot in rots if rot not in self.store.devices]
        if unknown:
            raise bad('Invalid ROTPublicUIDs: %s' % shown(unknown))
        unknown = [uid for uid in profiles if uid not in self.store.profiles]
        if unknown:
            raise bad('Invalid DeviceProfileUIDs: %s' % shown(unknown))
        for tag in tags:
            tag.rot_public_uids.update(rots)
            tag.device_profile_uids.update(profiles)
        return json_response(SUCCESS)

    async def tag_remove(self, request):
        data = await self.auth.authed_body(request)
        names = str_list(data, 'TagNames', required=True)
        rots, profiles = self.assignment_targets(data, wildcard=True)
        # "{*}" in TagNames removes every tag from the given devices; unknown combinations are ignored.
        tags = list(self.store.tags.values()) if names == ['*'] else [self.store.tags[tag_key(n)] for n in names if tag_key(n) in self.store.tags]
        for tag in tags:
            if rots == '*':
                tag.rot_public_uids.clear()
            else:
                tag.rot_public_uids.difference_update(rots)
            if profiles == '*':
                tag.device_profile_uids.clear()
            else:
                tag.device_profile_uids.difference_update(profiles)
        return json_response(SUCCESS)

    def seed_tags(self, payload):
        added = []
        for item in seed_list(payload, 'tags'):
            item = {'TagName': item} if isinstance(item, str) else item
            if not isinstance(item, dict):
                raise BadRequest('each tag is a name or {"TagName", "ROTPublicUIDs"?}')
            problem = self.tag_name_problem(item.get('TagName'))
            if problem or tag_key(item['TagName']) in self.store.tags:
                raise BadRequest(problem or 'tag %s already exists' % item['TagName'])
            tag = self.add_tag(item['TagName'])
            tag.rot_public_uids.update(rot.lower() for rot in item.get('ROTPublicUIDs', []))
            tag.device_profile_uids.update(item.get('DeviceProfileUIDs', []))
            added.append(tag.name)
        return {'added': added}
