"""What every u-blox area shares: the error body, the list and integer rules of request fields, and paging.

Every u-blox call is a POST with a JSON body; errors are ``{"message": ...}`` (seed 002).
"""

from ...common import ApiError, json_response

PAGE_SIZE = 100
SUCCESS = {'message': 'Success'}


def error_response(status, message):
    return json_response({'message': message}, status)


def fail(status, message):
    """An ApiError carrying the u-blox error body."""
    return ApiError(error_response(status, message))


def bad(rule):
    return fail(400, 'Bad Request. ' + rule)


def not_found(what):
    return fail(404, 'Not Found. ' + what)


def str_list(data, key, required=False):
    """``data[key]`` as a non-empty list of non-empty strings; None when absent and not required."""
    value = data.get(key)
    if value is None:
        if required:
            raise bad('%s is required' % key)
        return None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise bad('%s must be a list of 1 to N non-empty strings' % key)
    return value


def int_field(data, key, bounds, required=True):
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not bounds[0] <= value <= bounds[1]:
        raise bad('%s must be an integer from %d to %d' % (key, bounds[0], bounds[1]))
    return value


def page(data, items, key, render=lambda item: item):
    """One page of ``items`` (100 per page) in the u-blox paging envelope."""
    number = data.get('PageNumber', 1)
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise bad('PageNumber must be a positive integer')
    chunk = items[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
    return json_response({key: [render(item) for item in chunk], 'PageNumber': number, 'PageSize': PAGE_SIZE,
                          'TotalRecords': len(items)})
