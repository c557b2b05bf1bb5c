# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench test set-up: the run builder (runs.py) on the path, and a valid run per test."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import runs  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def run_doc():
    """A fresh valid run document (20 containers, 5 at a time, every experiment)."""
    return runs.run()
