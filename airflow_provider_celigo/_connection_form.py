"""The Celigo connection form, as data: one source for Airflow 3.2+ metadata and the legacy hook methods."""

from __future__ import annotations

from typing import Any

# The fields' limits live here, not in connection.py (which re-exports them): Airflow imports this module while it
# discovers providers, possibly in the middle of its own import, so it must not import Airflow (connection.py does,
# through exceptions.py, and importing it from here made a circular import).
MIN_CONCURRENCY, MAX_CONCURRENCY = 1, 25
DEFAULT_CONCURRENCY = 5
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_RETRY_WAIT = 60.0

#: Extra fields of the form: name -> (label, JSON schema, description).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "region": {
        "label": "Region",
        "schema": {"type": ["string", "null"], "enum": ["na", "eu", "au", "ca"], "default": "na"},
        "description": (
            "na = North America (api.integrator.io), eu = Europe (api.eu.integrator.io), "
            "au = Australia (api.au.integrator.io), ca = Canada (api.ca.integrator.io)."
        ),
    },
    "concurrency_level": {
        "label": "Concurrency level",
        "schema": {
            "type": ["integer", "null"],
            "minimum": MIN_CONCURRENCY,
            "maximum": MAX_CONCURRENCY,
            "default": DEFAULT_CONCURRENCY,
        },
        "description": "Most calls in flight against this account at once (1-25); also the size of its pool.",
    },
    "borrow_concurrency_from": {
        "label": "Borrow concurrency from",
        "schema": {"type": ["string", "null"]},
        "description": "Id of another Celigo connection whose concurrency level and pool this one shares.",
    },
    "base_url": {
        "label": "Base URL override",
        "schema": {"type": ["string", "null"]},
        "description": "Only for a proxy or the local emulator, e.g. http://127.0.0.1:8765/v1.",
    },
    "timeout": {
        "label": "Request timeout (seconds)",
        "schema": {"type": ["number", "null"], "minimum": 1, "maximum": 600, "default": DEFAULT_TIMEOUT},
        "description": "Timeout of one HTTP request.",
    },
    "max_retries": {
        "label": "Max retries",
        "schema": {"type": ["integer", "null"], "minimum": 0, "maximum": 20, "default": DEFAULT_MAX_RETRIES},
        "description": "Retries of a request that met a network error, a timeout, a 5xx or a 429.",
    },
    "max_retry_wait": {
        "label": "Max wait between retries (seconds)",
        "schema": {"type": ["number", "null"], "minimum": 0, "maximum": 900, "default": DEFAULT_MAX_RETRY_WAIT},
        "description": "Cap on the wait a Retry-After header can ask for.",
    },
    "verify_ssl": {
        "label": "Verify TLS certificates",
        "schema": {"type": ["boolean", "null"], "default": True},
        "description": "Check the server's TLS certificate (turn off only for a proxy with a self-signed one).",
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "port", "login"],
    "relabeling": {"password": "API token"},
    "placeholders": {
        "password": "integrator.io API token (Resources > API tokens)",
        "region": "na",
        "concurrency_level": str(DEFAULT_CONCURRENCY),
    },
}


def legacy_field_behaviour() -> dict[str, Any]:
    """The ``get_ui_field_behaviour`` form of UI_FIELD_BEHAVIOUR (Airflow 3.0/3.1)."""
    return {
        "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
        "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
        "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
    }


def legacy_form_widgets() -> dict[str, Any]:
    """The ``get_connection_form_widgets`` form of CONN_FIELDS (Airflow 3.0/3.1); empty without WTForms.

    Those Airflow lines build the form by calling this with WTForms' ``StringField``, ``IntegerField`` and
    ``BooleanField`` swapped for their own stand-ins, which take only ``label``, ``validators``, ``description``
    and ``default`` and turn ``any_of`` into a dropdown. So only those three fields and those arguments are used
    here (no FAB widget, no ``lazy_gettext``, no ``SelectField``: the stand-ins reject or drop them).
    """
    try:
        from wtforms import BooleanField, IntegerField, StringField
        from wtforms.validators import any_of
    except ImportError:
        return {}
    widgets: dict[str, Any] = {}
    for name, spec in CONN_FIELDS.items():
        schema = spec["schema"]
        common = {"label": spec["label"], "description": spec["description"], "default": schema.get("default")}
        if "enum" in schema:
            widgets[name] = StringField(validators=[any_of(list(schema["enum"]))], **common)
        elif "boolean" in schema["type"]:
            widgets[name] = BooleanField(**common)
        elif "integer" in schema["type"]:
            widgets[name] = IntegerField(**common)
        else:  # strings and numbers: a text box (connection.py reads "30" as 30.0)
            widgets[name] = StringField(**common)
    return widgets
