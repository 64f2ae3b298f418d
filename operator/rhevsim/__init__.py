"""rhevsim: a RHEV-M (oVirt engine) REST API v4 simulator with real asynchronous behaviour."""
