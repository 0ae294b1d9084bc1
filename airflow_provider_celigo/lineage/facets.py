"""The Celigo run facet. Imports OpenLineage: import this module only where the OpenLineage provider runs."""

from __future__ import annotations

from attrs import define, field
from openlineage.client.generated.base import RunFacet

__all__ = ["CeligoRunFacet"]


@define
class CeligoRunFacet(RunFacet):
    """What integrator.io did in the task: the flow jobs of each run, their status and counts.

    ``jobIds`` lists every flow job (a run of a multi-source flow has one per source); ``numSuccess`` and
    ``numError`` sum the jobs' counters.
    """

    flowIds: list[str] = field(factory=list)  # OpenLineage facets are camelCase
    jobIds: list[str] = field(factory=list)
    status: str | None = None
    numSuccess: int = 0
    numError: int = 0

    @staticmethod
    def _get_schema() -> str:
        return "https://github.com/airflow-provider-celigo/schemas/CeligoRunFacet.json#/$defs/CeligoRunFacet"
