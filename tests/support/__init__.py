"""Test support shared by every test package: the loopback streaming server and its fixture."""
