"""Compatibility name for :mod:`sipyco.logging_tools` (upstream 1.9/1.10
renamed that module ``sipyco.logs``); the same objects, re-exported."""

from sipyco.logging_tools import (
                                  LEVELS,
                                  TRACE,
                                  LogForwarder,
                                  LogParser,
                                  MultilineFormatter,
                                  Server,
                                  SourceFilter,
                                  log_with_name,
                                  multiline_log_config,
                                  parse_log_message,
)

__all__ = ["LEVELS", "TRACE", "LogForwarder", "LogParser", "MultilineFormatter", "Server",
           "SourceFilter", "log_with_name", "multiline_log_config", "parse_log_message"]
