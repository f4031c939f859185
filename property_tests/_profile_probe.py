"""Run by test_profiles.py in a subprocess: prints the loaded Hypothesis settings."""

import json

from hypothesis import settings


def test_print_profile():
    s = settings.default
    print("PROFILE-SETTINGS " + json.dumps({"max_examples": s.max_examples,
                                             "derandomize": s.derandomize,
                                             "deadline": None if s.deadline is None else str(s.deadline)}))
