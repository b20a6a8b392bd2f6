"""Hostile-peer attacks for the weftd integration tests."""
