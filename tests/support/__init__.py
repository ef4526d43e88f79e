"""Helpers the tests share, in modules without the ``test_`` prefix: a test module imports
these (or takes the fixtures of ``tests/conftest.py``), never another test module."""
