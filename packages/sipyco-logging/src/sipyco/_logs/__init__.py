"""Private implementation of :mod:`sipyco.logging_tools`; import the public module instead."""
