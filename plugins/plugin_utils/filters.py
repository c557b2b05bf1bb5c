# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's filter plugins share: a domain error raised as Ansible's filter error."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible.errors import AnsibleFilterError


def raising_filter_errors(error_class):
    """A decorator for filter functions: error_class becomes AnsibleFilterError('<filter name>: <message>')."""
    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except error_class as exc:
                raise AnsibleFilterError('%s: %s' % (function.__name__, exc))
        return wrapper
    return decorate
