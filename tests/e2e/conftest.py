# SPDX-License-Identifier: Apache-2.0
"""The end-to-end tests of the web console stand on the system tests'
ground: the same throwaway PostgreSQL, the same nodes in their own folders,
the same logs kept when a test fails (tests/system/conftest.py)."""

import importlib.util
import pathlib
import sys

SYSTEM = pathlib.Path(__file__).resolve().parent.parent / "system"
sys.path.insert(0, str(SYSTEM))

_spec = importlib.util.spec_from_file_location("system_conftest", SYSTEM / "conftest.py")
_system = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_system)

postgres = _system.postgres
workspace = _system.workspace
pytest_runtest_makereport = _system.pytest_runtest_makereport
federation = _system.federation
