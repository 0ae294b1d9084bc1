"""OpenLineage for Celigo flows: a flow's exports are a task's inputs, its imports its outputs.

``naming`` maps an export or import (and its connection) to an OpenLineage dataset name without importing
OpenLineage; ``operator.CeligoLineageMixin`` gives the run operators their ``get_openlineage_facets_*``
methods, which import the OpenLineage provider only when it calls them. See docs/lineage.md.
"""
