"""Provider metadata: valid against Airflow's schema, in sync with the legacy hook methods and the settings reader."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest
from airflow_compat import AIRFLOW_VERSION

from airflow_provider_celigo import __version__
from airflow_provider_celigo._connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR, legacy_form_widgets
from airflow_provider_celigo.connection import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    MIN_CONCURRENCY,
    CeligoSettings,
    settings_from_connection,
)
from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.get_provider_info import get_provider_info
from airflow_provider_celigo.hooks.celigo import CeligoHook

PACKAGE = "airflow-provider-celigo"


class FakeConnection:
    """The attributes ``settings_from_connection`` reads."""

    def __init__(self, conn_id: str, extra: dict[str, Any], conn_type: str = "celigo") -> None:
        self.conn_id, self.conn_type, self.password, self._extra = conn_id, conn_type, "tok-provider-info", extra

    @property
    def extra_dejson(self) -> dict[str, Any]:
        return self._extra


def celigo_type() -> dict[str, Any]:
    (entry,) = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == "celigo"]
    return entry


def resolve(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_validates_against_airflows_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == PACKAGE and info["versions"][0] == __version__


def test_every_listed_module_and_class_imports() -> None:
    info = get_provider_info()
    for group in ("hooks", "operators", "sensors", "triggers"):
        for entry in info.get(group, []):
            for module in entry["python-modules"]:
                importlib.import_module(module)
    assert resolve(celigo_type()["hook-class-name"]) is CeligoHook
    for link in info.get("extra-links", []):
        assert callable(resolve(link))


def test_every_form_field_is_an_extra_the_settings_read() -> None:
    """Each conn-fields key, given a bad value, makes settings_from_connection name that key: it is really read."""
    bad_values = {
        "region": "mars",
        "concurrency_level": 0,
        "borrow_concurrency_from": "no_such_lender",
        "base_url": "http://example.com/v1",
        "timeout": 0,
        "max_retries": 99,
        "max_retry_wait": -5,
        "verify_ssl": "maybe",
    }
    assert set(celigo_type()["conn-fields"]) == set(bad_values)

    def missing(conn_id: str) -> Any:
        raise KeyError(conn_id)

    for name, value in bad_values.items():
        for key in (name, f"extra__celigo__{name}"):  # plain, and the prefixed form older UIs stored
            with pytest.raises(CeligoConfigError, match=name):
                settings_from_connection(FakeConnection("c", {key: value}), missing)


def test_form_defaults_match_the_settings_defaults() -> None:
    settings = settings_from_connection(FakeConnection("c", {}))
    fields = celigo_type()["conn-fields"]
    for name, spec in fields.items():
        default = spec["schema"].get("default")
        if default is not None:
            assert getattr(settings, name) == default, name
    level = fields["concurrency_level"]["schema"]
    assert (level["minimum"], level["maximum"], level["default"]) == (
        MIN_CONCURRENCY,
        MAX_CONCURRENCY,
        DEFAULT_CONCURRENCY,
    )
    assert fields["region"]["schema"]["enum"] == ["na", "eu", "au", "ca"]
    for name, spec in fields.items():
        assert spec["label"] and spec["description"], name
        assert name in CeligoSettings.__dataclass_fields__ or name == "borrow_concurrency_from"


def test_legacy_field_behaviour_equals_the_metadata() -> None:
    yaml_style = celigo_type()["ui-field-behaviour"]
    legacy = CeligoHook.get_ui_field_behaviour()
    assert legacy == {
        "hidden_fields": yaml_style["hidden-fields"],
        "relabeling": yaml_style["relabeling"],
        "placeholders": yaml_style["placeholders"],
    }
    assert "password" not in legacy["hidden_fields"] and legacy["relabeling"]["password"] == "API token"
    assert set(legacy["placeholders"]) - {"password"} <= set(CONN_FIELDS)


def test_the_legacy_form_methods_are_the_registered_hook_class_own() -> None:
    # Airflow 3.0/3.1 look them up in the registered class's __dict__ only; inherited ones are never called.
    assert {"get_connection_form_widgets", "get_ui_field_behaviour"} <= set(vars(CeligoHook))


def test_legacy_form_widgets_are_the_metadata_fields_in_wtforms() -> None:
    from wtforms import BooleanField, IntegerField, StringField

    widgets = legacy_form_widgets()
    assert set(widgets) == set(CONN_FIELDS)
    # The only classes and arguments Airflow 3.0/3.1's stand-ins accept (no FAB widget, no lazy_gettext).
    assert {w.field_class for w in widgets.values()} <= {StringField, IntegerField, BooleanField}
    for name, widget in widgets.items():
        assert not widget.args and set(widget.kwargs) <= {"label", "validators", "description", "default"}, name
        assert widget.kwargs["label"] == CONN_FIELDS[name]["label"]
    (region_rule,) = widgets["region"].kwargs["validators"]
    assert list(region_rule.values) == ["na", "eu", "au", "ca"]
    assert widgets["concurrency_level"].field_class is IntegerField
    assert widgets["verify_ssl"].field_class is BooleanField


def test_hook_class_attributes_match_the_metadata() -> None:
    entry = celigo_type()
    assert (CeligoHook.conn_type, CeligoHook.hook_name) == (entry["connection-type"], entry["hook-name"])
    assert (CeligoHook.conn_name_attr, CeligoHook.default_conn_name) == ("celigo_conn_id", "celigo_default")
    assert entry["ui-field-behaviour"] is UI_FIELD_BEHAVIOUR and entry["conn-fields"] is CONN_FIELDS


def metadata_form(manager: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the form widgets and field behaviours ProvidersManager read from provider metadata (3.2+).

    3.3 keeps them apart from the hooks' legacy ones; 3.2 reads them into the same dicts.
    """
    if hasattr(manager, "_connection_form_widgets_from_metadata"):
        return manager._connection_form_widgets_from_metadata, manager._field_behaviours_from_metadata
    return manager.connection_form_widgets, manager.field_behaviours


def test_providers_manager_sees_the_celigo_connection_type() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.providers[PACKAGE].version == __version__
    if AIRFLOW_VERSION >= (3, 2):
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        hook_info = ProvidersManagerTaskRuntime().hooks["celigo"]
    else:  # the task runtime's own providers manager came with 3.2
        hook_info = manager.hooks["celigo"]
    assert hook_info is not None
    assert hook_info.hook_class_name == "airflow_provider_celigo.hooks.celigo.CeligoHook"
    assert (hook_info.connection_id_attribute_name, hook_info.package_name) == ("celigo_conn_id", PACKAGE)
    if AIRFLOW_VERSION < (3, 2):
        return  # no form metadata before 3.2: the form comes from the hook (test_the_ui_gets_the_celigo_form)
    if AIRFLOW_VERSION >= (3, 3):
        ui = {m.connection_type: m for m in manager.iter_connection_type_hook_ui_metadata()}["celigo"]
        assert (ui.hook_name, ui.hook_class_name) == ("Celigo integrator.io", hook_info.hook_class_name)
    widgets, behaviours = metadata_form(manager)
    for name, spec in CONN_FIELDS.items():
        widget = widgets[f"extra__celigo__{name}"]
        assert widget.hook_class_name.endswith("CeligoHook") and widget.field["schema"]["title"] == spec["label"]
    behaviour = behaviours["celigo"]
    assert behaviour["hidden_fields"] == UI_FIELD_BEHAVIOUR["hidden-fields"]
    assert behaviour["relabeling"] == {"password": "API token"}


# -- the verify_ssl field ------------------------------------------------------------------------------------


def test_verify_ssl_has_a_boolean_form_field() -> None:
    spec = celigo_type()["conn-fields"]["verify_ssl"]
    assert spec["schema"]["type"] == ["boolean", "null"] and spec["schema"]["default"] is True
    assert spec["label"] and "certificate" in spec["description"]
    assert settings_from_connection(FakeConnection("c", {"verify_ssl": False})).verify_ssl is False
    assert settings_from_connection(FakeConnection("c", {"extra__celigo__verify_ssl": "false"})).verify_ssl is False


UI_FORM_SCRIPT = """
import json
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
(meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "celigo"]
print("UI-FORM " + meta.model_dump_json())
"""


def ui_form() -> Any:
    """Return the Celigo entry of what the api-server sends the UI's connection form (``/ui/connections/hook_meta``).

    Built in a fresh interpreter, as in a starting api-server: Airflow 3.0/3.1 build the form once per process,
    with WTForms swapped for stand-ins, and keep whatever hooks the process had loaded before.
    """
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionHookMetaData

    done = subprocess.run([sys.executable, "-c", UI_FORM_SCRIPT], capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("UI-FORM ")]
    assert done.returncode == 0 and lines, f"the form builder failed: {done.stderr[-3000:]}"
    return ConnectionHookMetaData.model_validate_json(lines[-1].removeprefix("UI-FORM "))


def test_the_ui_gets_the_celigo_form() -> None:
    """On every supported Airflow: from the provider metadata (3.2+), or from the hook's legacy methods (3.0/3.1,
    read only when WTForms is installed, which the provider depends on for this)."""
    form = ui_form()
    assert form.hook_name == "Celigo integrator.io"
    fields = dict(form.extra_fields or {})
    assert set(fields) == set(CONN_FIELDS), form
    region = fields["region"]
    assert (region["schema"]["enum"], region["value"]) == (CONN_FIELDS["region"]["schema"]["enum"], "na")  # dropdown
    assert (fields["concurrency_level"]["schema"]["type"], fields["concurrency_level"]["value"]) == (
        ["integer", "null"],
        DEFAULT_CONCURRENCY,
    )
    assert fields["verify_ssl"]["schema"]["type"] == ["boolean", "null"] and fields["verify_ssl"]["value"] is True
    standard = form.standard_fields
    assert standard is not None and standard.password.title == "API token" and not standard.password.hidden
    assert standard.host.hidden and standard.login.hidden and standard.port.hidden


def test_the_ui_shows_the_verify_ssl_field() -> None:
    from airflow.providers_manager import ProvidersManager

    if AIRFLOW_VERSION < (3, 2):
        widget = ProvidersManager().connection_form_widgets["extra__celigo__verify_ssl"]
        # WTForms' BooleanField, or the stand-in Airflow's form builder swaps in for it (MockBooleanField)
        assert widget.field.field_class.__name__.endswith("BooleanField")
        return
    widget = metadata_form(ProvidersManager())[0]["extra__celigo__verify_ssl"]
    assert widget.field["schema"]["type"] == ["boolean", "null"] and widget.field["value"] is True


def test_form_shaped_extras_are_accepted() -> None:
    """What Airflow 3's connection form saves: every field of the form, ``null`` where left empty."""
    saved_by_the_form = {name: spec["schema"].get("default") for name, spec in CONN_FIELDS.items()}
    assert None in saved_by_the_form.values()  # e.g. base_url, borrow_concurrency_from
    assert settings_from_connection(FakeConnection("c", saved_by_the_form)) == settings_from_connection(
        FakeConnection("c", {})
    )


# -- the [celigo] config options -----------------------------------------------------------------------------


def test_config_options_are_declared_for_the_keys_the_pool_policy_reads() -> None:
    from airflow_provider_celigo.pools.planning import CONFIG_SECTION, OVERRIDES_KEY, SYNCED_POOLS_KEY

    config = get_provider_info()["config"]
    assert set(config) == {CONFIG_SECTION}
    options = config[CONFIG_SECTION]["options"]
    assert set(options) == {SYNCED_POOLS_KEY, OVERRIDES_KEY, "pace_after_429", "default_poll_interval"}
    assert (options["default_poll_interval"]["type"], options["default_poll_interval"]["default"]) == ("float", "30")
    for name, option in options.items():
        assert option["description"] and option["version_added"], name
        assert isinstance(option["default"], str) and option["example"], name
    assert (options[SYNCED_POOLS_KEY]["type"], options[SYNCED_POOLS_KEY]["default"]) == ("string", "")
    assert (options[OVERRIDES_KEY]["type"], options[OVERRIDES_KEY]["default"]) == ("string", "")
    assert (options["pace_after_429"]["type"], options["pace_after_429"]["default"]) == ("boolean", "True")
    assert "Retry-After" in options["pace_after_429"]["description"]


def test_airflow_config_knows_the_celigo_defaults() -> None:
    from airflow.configuration import conf
    from airflow.providers_manager import ProvidersManager

    # What every Airflow command does at start (3.0 does not do it on import, later lines do; twice is harmless).
    ProvidersManager().initialize_providers_configuration()
    assert conf.getboolean("celigo", "pace_after_429") is True
    assert conf.get("celigo", "synced_pools") == "" and conf.get("celigo", "pool_overrides") == ""
    assert "celigo" in conf.configuration_description
