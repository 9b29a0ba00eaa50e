"""Pytest plugin: fixtures for tests that talk to real PostgreSQL and a real Tansu broker."""
