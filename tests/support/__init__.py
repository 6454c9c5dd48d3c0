"""Helpers every test area imports (``from support.net import free_port``):
ports, bounded waiting, and scripted peers that play a server's part byte
by byte.  ``pytest.ini`` puts ``tests/`` on the import path."""
