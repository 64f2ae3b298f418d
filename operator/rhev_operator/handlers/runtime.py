"""Process-wide state the handlers share, handed to them through kopf's memo."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rhev_operator.inventory.connections import Connections
from rhev_operator.rhevm import ConnectionConfig


class NoDefaultConnection(Exception):
    pass


@dataclass
class Runtime:
    connections: Connections
    #: `namespace/name` of the Secret holding the default connection, if one was given.
    default_secret: tuple[str, str] | None = None
    #: The default connection from flags/environment, if no Secret was given.
    default_env: ConnectionConfig | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def default_config(self, secret_index: Mapping[Any, Any]) -> ConnectionConfig:
        # Imported here: common imports this module, and the Secret parsing lives there.
        from rhev_operator.handlers.common import MissingSecret, config_from_secret

        if self.default_secret is not None:
            namespace, name = self.default_secret
            store = secret_index.get((namespace, name))
            data = next(iter(store)) if store else None
            return config_from_secret(namespace, name, data)
        if self.default_env is None:
            raise MissingSecret("(operator)", "default connection", None)
        return self.default_env


def default_from_environment(url: str | None) -> ConnectionConfig | None:
    """The default connection from `--rhevm-url` or RHEVM_URL, RHEVM_USERNAME, ... ."""
    url = url or os.environ.get("RHEVM_URL")
    if not url:
        return None
    ca_file = os.environ.get("RHEVM_CA_FILE")
    ca_pem = None
    if ca_file:
        with open(ca_file, encoding="utf-8") as handle:
            ca_pem = handle.read()
    return ConnectionConfig(
        url=url,
        username=os.environ.get("RHEVM_USERNAME", "admin@internal"),
        password=os.environ.get("RHEVM_PASSWORD", ""),
        ca_pem=ca_pem,
        insecure=os.environ.get("RHEVM_INSECURE", "").lower() == "true",
    )
