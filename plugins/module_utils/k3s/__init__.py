# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s rendering, airgap, preflight, token, join-diagnostics and kubeconfig helpers, private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections. Every module
in this package is pure (data in, data or text out) and raises ``K3sError`` with a message that names
the field and the bad value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class K3sError(ValueError):
    """A k3s setting, fact or file that cannot be used; the message names the field and the value."""
