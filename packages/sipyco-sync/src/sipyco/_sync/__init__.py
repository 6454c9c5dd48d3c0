"""Private implementation of :mod:`sipyco.sync_struct`; import the public module instead."""
