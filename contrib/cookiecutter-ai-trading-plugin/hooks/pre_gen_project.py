"""Refuse feature names that would not make a valid distribution, package and entry point."""

import re
import sys

FEATURE = "{{ cookiecutter.feature }}"
ROLES = ("strategy", "data_source", "broker", "sizer", "risk_check")

if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", FEATURE):
    print(f"error: feature {FEATURE!r} must be lower-case words separated by '-' (e.g. pairs-trading)")
    sys.exit(1)
if "{{ cookiecutter.role }}" not in ROLES:
    print(f"error: role must be one of {', '.join(ROLES)}")
    sys.exit(1)
