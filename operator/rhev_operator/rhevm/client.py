"""The RHEV-M client facade: one per connection, one service per entity."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from types import TracebackType

from rhev_operator.rhevm import xmlio
from rhev_operator.rhevm._base import Frozen, new_correlation_id
from rhev_operator.rhevm.cluster import Clusters
from rhev_operator.rhevm.datacenter import DataCenters
from rhev_operator.rhevm.disk import Disks
from rhev_operator.rhevm.event import Events
from rhev_operator.rhevm.hypervisor import Hosts
from rhev_operator.rhevm.job import Jobs
from rhev_operator.rhevm.network import Networks, VnicProfiles
from rhev_operator.rhevm.session import ConnectionConfig, Session
from rhev_operator.rhevm.storagedomain import StorageDomains
from rhev_operator.rhevm.virtualmachine import Vms
from rhev_operator.rhevm.vmtemplate import Templates

__all__ = ["ApiInfo", "RhevmClient"]


class ApiInfo(Frozen):
    """What ``GET /ovirt-engine/api`` says about the engine."""

    product_name: str | None = None
    vendor: str | None = None
    full_version: str | None = None
    version: str | None = None
    blank_template_id: str | None = None
    authenticated_user_id: str | None = None
    time: str | None = None


class RhevmClient:
    """REST client of one RHEV-M (API v4 XML). Thread-safe; close() logs out.

    ``trace=True`` logs every request and response (method, URL, status, time,
    body) at INFO to ``logger`` with passwords and tokens masked.
    """

    def __init__(
        self,
        config: ConnectionConfig,
        trace: bool = False,
        logger: logging.Logger | None = None,
        max_mutating: int | None = None,
    ) -> None:
        self.config = config
        self.session = Session(config, trace=trace, logger=logger)
        if max_mutating:
            self.session.mutating = threading.BoundedSemaphore(max_mutating)
        s = self.session
        self.datacenters = DataCenters(s, "datacenters")
        self.clusters = Clusters(s, "clusters")
        self.networks = Networks(s, "networks")
        self.vnic_profiles: VnicProfiles = self.networks.vnic_profiles
        self.storagedomains = StorageDomains(s, "storagedomains")
        self.hosts = Hosts(s, "hosts")
        self.vms = Vms(s, "vms")
        self.disks = Disks(s, "disks")
        self.templates = Templates(s, "templates")
        self.jobs = Jobs(s, "jobs")
        self.events = Events(s, "events")

    @staticmethod
    def new_correlation_id() -> str:
        return new_correlation_id()

    def api(self) -> ApiInfo:
        """The API root: also the cheapest check that the engine is reachable and the
        credentials work."""
        root = self.session.request("GET", "").root
        if root is None:
            return ApiInfo()
        return xmlio.read_model(
            root,
            ApiInfo,
            {
                "product_name": "product_info/name",
                "vendor": "product_info/vendor",
                "full_version": "product_info/version/full_version",
                "version": xmlio.read_version("product_info/version"),
                "blank_template_id": "special_objects/blank_template/@id",
                "authenticated_user_id": "authenticated_user/@id",
            },
        )

    @property
    def request_counts(self) -> Mapping[tuple[str, str], int]:
        """Requests sent so far per (method, path template), e.g. ("GET", "vms/{id}")."""
        return self.session.request_counts

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RhevmClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
