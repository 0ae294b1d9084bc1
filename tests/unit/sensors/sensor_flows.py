"""The sensors read a flow's document once its job has ended, to know the flow's sources (one flow job per
source): ``one_source_flows`` (autouse where imported) gives these tests' flows one source, unless a test
registers its own ``GET /flows/{id}``."""

from __future__ import annotations

import re
from typing import Any

import pytest

ONE_SOURCE = "6650e0000000000000000001"


@pytest.fixture(autouse=True)
def one_source_flows(requests_mock: Any) -> None:
    def flow(request: Any, context: Any) -> dict[str, Any]:
        return {"_id": request.path.rsplit("/", 1)[-1], "pageGenerators": [{"_exportId": ONE_SOURCE}]}

    requests_mock.get(re.compile(r"/v1/flows/[0-9a-f]{24}$"), json=flow)
