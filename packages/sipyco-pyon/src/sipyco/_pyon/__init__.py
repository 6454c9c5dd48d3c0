"""Private implementation of :mod:`sipyco.pyon`; import the public module instead."""
