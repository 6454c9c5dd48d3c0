"""The fuzz harness: hypothesis-driven inputs for SiPyCo's protocol surfaces.

``python fuzz/run.py`` (or ``hatch run fuzz``) is the entry point; the
modules here are imported by it under the package name ``sipyco_fuzz``
(this folder is not installed, see :func:`run.load_package`):

* :mod:`.gen`: strategies for PYON values, valid texts and their mutations;
* :mod:`.engine`: one target's run: hypothesis generating, per-input time and
  memory guards, outcome counts, and shrinking of every violation found;
* :mod:`.targets`: what is fuzzed (``pyon.decode``, the pc_rpc server
  connection, ``process_mod``, the log line readers) and which exceptions
  each documents.
"""
