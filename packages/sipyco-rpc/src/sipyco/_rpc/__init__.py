"""Private implementation of :mod:`sipyco.pc_rpc`; import the public module instead."""
