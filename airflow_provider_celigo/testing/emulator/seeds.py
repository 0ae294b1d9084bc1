"""Seed data: the ``demo`` account with fixed ids that examples, tests and the demo rely on."""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_TOKEN", "DEMO_IDS", "SEEDS", "demo_flow_copies", "named_seed"]

DEFAULT_TOKEN = "celigo-emulator-token"
DEFAULT_ACCOUNT = "default"

DEMO_IDS: dict[str, str] = {
    # connections
    "conn_shopify": "6650c0000000000000000001",
    "conn_netsuite": "6650c0000000000000000002",
    "conn_snowflake": "6650c0000000000000000003",
    "conn_acme_shopify": "6650c0000000000000000004",
    "conn_acme_netsuite": "6650c0000000000000000005",
    "conn_legacy_ftp": "6650c0000000000000000006",
    # integrations
    "integration_shop": "6650a0000000000000000001",
    "integration_template": "6650a0000000000000000002",
    "integration_marketing": "6650a0000000000000000003",
    # flows of integration "Shop to ERP"
    "flow_orders": "6650f0000000000000000001",
    "flow_customers": "6650f0000000000000000002",
    "flow_inventory": "6650f0000000000000000003",
    "flow_invoices": "6650f0000000000000000004",
    "flow_refunds": "6650f0000000000000000005",
    "flow_legacy_ftp": "6650f0000000000000000006",
    # flows of the template integration
    "flow_onboarding_customers": "6650f0000000000000000011",
    "flow_onboarding_orders": "6650f0000000000000000012",
    # exports
    "export_orders": "6650e0000000000000000001",
    "export_customers": "6650e0000000000000000002",
    "export_inventory": "6650e0000000000000000003",
    "export_invoices": "6650e0000000000000000004",
    "export_refunds": "6650e0000000000000000005",
    "export_legacy_ftp": "6650e0000000000000000006",
    "export_onboarding_customers": "6650e0000000000000000011",
    "export_onboarding_orders": "6650e0000000000000000012",
    # imports
    "import_orders": "6650d0000000000000000001",
    "import_customers": "6650d0000000000000000002",
    "import_customers_warehouse": "6650d0000000000000000003",
    "import_inventory": "6650d0000000000000000004",
    "import_inventory_warehouse": "6650d0000000000000000005",
    "import_invoices": "6650d0000000000000000006",
    "import_refunds": "6650d0000000000000000007",
    "import_legacy_ftp": "6650d0000000000000000008",
    "import_onboarding_customers": "6650d0000000000000000011",
    "import_onboarding_orders": "6650d0000000000000000012",
    # flows of integration "Marketing segments" (six short flows, for fan-out examples)
    "flow_segment_vip": "6650f0000000000000000021",
    "flow_segment_new": "6650f0000000000000000022",
    "flow_segment_lapsed": "6650f0000000000000000023",
    "flow_segment_wholesale": "6650f0000000000000000024",
    "flow_segment_newsletter": "6650f0000000000000000025",
    "flow_segment_returns": "6650f0000000000000000026",
    "export_segment_vip": "6650e0000000000000000021",
    "export_segment_new": "6650e0000000000000000022",
    "export_segment_lapsed": "6650e0000000000000000023",
    "export_segment_wholesale": "6650e0000000000000000024",
    "export_segment_newsletter": "6650e0000000000000000025",
    "export_segment_returns": "6650e0000000000000000026",
    "import_segment_vip": "6650d0000000000000000021",
    "import_segment_new": "6650d0000000000000000022",
    "import_segment_lapsed": "6650d0000000000000000023",
    "import_segment_wholesale": "6650d0000000000000000024",
    "import_segment_newsletter": "6650d0000000000000000025",
    "import_segment_returns": "6650d0000000000000000026",
    # integration "Storefronts to ERP": a flow with three sources (one flow job per source and run) and a
    # chained pair (the first flow's _runNextFlowIds starts the second when a run completes)
    "integration_storefronts": "6650a0000000000000000004",
    "flow_storefront_orders": "6650f0000000000000000031",
    "flow_nightly_products": "6650f0000000000000000032",
    "flow_nightly_prices": "6650f0000000000000000033",
    "export_storefront_us": "6650e0000000000000000031",
    "export_storefront_eu": "6650e0000000000000000032",
    "export_storefront_b2b": "6650e0000000000000000033",
    "export_nightly_products": "6650e0000000000000000034",
    "export_nightly_prices": "6650e0000000000000000035",
    "import_storefront_orders": "6650d0000000000000000031",
    "import_storefront_warehouse": "6650d0000000000000000032",
    "import_nightly_products": "6650d0000000000000000033",
    "import_nightly_prices": "6650d0000000000000000034",
    # other resources
    "lookupcache_sku": "6650b0000000000000000001",
    "script_normalize": "6650b0000000000000000002",
    "tag_production": "6650b0000000000000000003",
    "agent_onprem": "6650b0000000000000000004",
    "iclient_shopify": "6650b0000000000000000005",
    "stack_pricing": "6650b0000000000000000006",
    "api_order_status": "6650b0000000000000000007",
    "accesstoken_airflow": "6650b0000000000000000008",
}

_I = DEMO_IDS


def _connection(key: str, name: str, ctype: str, block: dict[str, Any], offline: bool = False) -> dict:
    return {"_id": _I[key], "name": name, "type": ctype, ctype: block, "offline": offline}


def _connections() -> list[dict[str, Any]]:
    shopify = {
        "baseURI": "https://demo-shop.myshopify.com/admin/api/2024-01",
        "mediaType": "json",
        "concurrencyLevel": 5,
        "auth": {"type": "token", "token": {"token": "shpat_demo_secret_1", "location": "header"}},
    }
    acme_shopify = {**shopify, "baseURI": "https://acme.myshopify.com/admin/api/2024-01"}
    acme_shopify["auth"] = {"type": "token", "token": {"token": "shpat_acme_secret", "location": "header"}}
    return [
        _connection("conn_shopify", "Shopify (HTTP)", "http", shopify),
        _connection(
            "conn_netsuite",
            "NetSuite",
            "netsuite",
            {"account": "TSTDRV123", "email": "ops@example.com", "password": "ns-demo-pass", "concurrencyLevel": 3},
        ),
        _connection(
            "conn_snowflake",
            "Warehouse (Snowflake)",
            "rdbms",
            {"type": "snowflake", "host": "demo.snowflakecomputing.com", "user": "etl", "password": "sf-pass"},
        ),
        _connection("conn_acme_shopify", "Acme Shopify", "http", acme_shopify),
        _connection(
            "conn_acme_netsuite",
            "Acme NetSuite",
            "netsuite",
            {"account": "ACME456", "email": "it@acme.example", "password": "acme-ns-pass", "concurrencyLevel": 2},
        ),
        _connection(
            "conn_legacy_ftp",
            "Legacy FTP",
            "ftp",
            {"hostURI": "ftp.legacy.example", "username": "legacy", "password": "ftp-pass", "port": 21},
            offline=True,
        ),
    ]


# (flow key, name, integration key, export key+name+connection, [(import key, name, connection)],
#  disabled, scenario)
_FLOWS: list[tuple[str, str, str, tuple[str, str, str], list[tuple[str, str, str]], bool, dict]] = [
    (
        "flow_orders",
        "Orders to NetSuite",
        "integration_shop",
        ("export_orders", "Get Shopify orders", "conn_shopify"),
        [("import_orders", "Create NetSuite sales orders", "conn_netsuite")],
        False,
        {"export_seconds": 2, "import_seconds": 3, "records": 120},
    ),
    (
        "flow_customers",
        "Customers to NetSuite",
        "integration_shop",
        ("export_customers", "Get Shopify customers", "conn_shopify"),
        [
            ("import_customers", "Upsert NetSuite customers", "conn_netsuite"),
            ("import_customers_warehouse", "Load customers to warehouse", "conn_snowflake"),
        ],
        False,
        {"export_seconds": 1, "import_seconds": 2, "records": 40},
    ),
    (
        "flow_inventory",
        "Inventory full sync",
        "integration_shop",
        ("export_inventory", "Get NetSuite inventory", "conn_netsuite"),
        [
            ("import_inventory", "Update Shopify inventory", "conn_shopify"),
            ("import_inventory_warehouse", "Load inventory snapshot", "conn_snowflake"),
        ],
        False,
        {"export_seconds": 20, "import_seconds": 40, "records": 5000},
    ),
    (
        "flow_invoices",
        "Invoices to NetSuite",
        "integration_shop",
        ("export_invoices", "Get Shopify invoices", "conn_shopify"),
        [("import_invoices", "Create NetSuite invoices", "conn_netsuite")],
        False,
        {"export_seconds": 1, "import_seconds": 2, "records": 50, "errors": 3},
    ),
    (
        "flow_refunds",
        "Refunds to NetSuite",
        "integration_shop",
        ("export_refunds", "Get Shopify refunds", "conn_shopify"),
        [("import_refunds", "Create NetSuite refunds", "conn_netsuite")],
        False,
        {
            "export_seconds": 1,
            "import_seconds": 1,
            "records": 10,
            "fail": True,
            "fail_message": "NetSuite login failed: invalid credentials",
        },
    ),
    (
        "flow_legacy_ftp",
        "Legacy FTP export",
        "integration_shop",
        ("export_legacy_ftp", "Get legacy FTP files", "conn_legacy_ftp"),
        [("import_legacy_ftp", "Load legacy files to warehouse", "conn_snowflake")],
        True,
        {"export_seconds": 1, "import_seconds": 1, "records": 5},
    ),
    (
        "flow_onboarding_customers",
        "Onboarding: customers",
        "integration_template",
        ("export_onboarding_customers", "Get new customers", "conn_shopify"),
        [("import_onboarding_customers", "Create customers", "conn_netsuite")],
        False,
        {"export_seconds": 1, "import_seconds": 1, "records": 12},
    ),
    (
        "flow_onboarding_orders",
        "Onboarding: orders",
        "integration_template",
        ("export_onboarding_orders", "Get new orders", "conn_shopify"),
        [("import_onboarding_orders", "Create orders", "conn_netsuite")],
        False,
        {"export_seconds": 1, "import_seconds": 1, "records": 25},
    ),
    (
        "flow_segment_vip",
        "Segment vip to Shopify",
        "integration_marketing",
        ("export_segment_vip", "Query vip customers", "conn_snowflake"),
        [("import_segment_vip", "Tag vip customers", "conn_shopify")],
        False,
        {"export_seconds": 1, "import_seconds": 2, "records": 30},
    ),
    (
        "flow_segment_new",
        "Segment new to Shopify",
        "integration_marketing",
        ("export_segment_new", "Query new customers", "conn_snowflake"),
        [("import_segment_new", "Tag new customers", "conn_shopify")],
        False,
        {"export_seconds": 2, "import_seconds": 2, "records": 40},
    ),
    (
        "flow_segment_lapsed",
        "Segment lapsed to Shopify",
        "integration_marketing",
        ("export_segment_lapsed", "Query lapsed customers", "conn_snowflake"),
        [("import_segment_lapsed", "Tag lapsed customers", "conn_shopify")],
        False,
        {"export_seconds": 3, "import_seconds": 2, "records": 50},
    ),
    (
        "flow_segment_wholesale",
        "Segment wholesale to Shopify",
        "integration_marketing",
        ("export_segment_wholesale", "Query wholesale customers", "conn_snowflake"),
        [("import_segment_wholesale", "Tag wholesale customers", "conn_shopify")],
        False,
        {"export_seconds": 1, "import_seconds": 2, "records": 60},
    ),
    (
        "flow_segment_newsletter",
        "Segment newsletter to Shopify",
        "integration_marketing",
        ("export_segment_newsletter", "Query newsletter customers", "conn_snowflake"),
        [("import_segment_newsletter", "Tag newsletter customers", "conn_shopify")],
        False,
        {"export_seconds": 2, "import_seconds": 2, "records": 70},
    ),
    (
        "flow_segment_returns",
        "Segment returns to Shopify",
        "integration_marketing",
        ("export_segment_returns", "Query returns customers", "conn_snowflake"),
        [("import_segment_returns", "Tag returns customers", "conn_shopify")],
        False,
        {"export_seconds": 3, "import_seconds": 2, "records": 80},
    ),
]


def _flows_exports_imports() -> tuple[list[dict], list[dict], list[dict], dict[str, dict]]:
    flows: list[dict] = []
    exports: list[dict] = []
    imports: list[dict] = []
    scenarios: dict[str, dict] = {}
    for flow_key, name, integration, export, import_specs, disabled, scenario in _FLOWS:
        export_key, export_name, export_conn = export
        exports.append(
            {
                "_id": _I[export_key],
                "name": export_name,
                "_connectionId": _I[export_conn],
                "_integrationId": _I[integration],
                "adaptorType": "HTTPExport",
            }
        )
        processors = []
        for import_key, import_name, import_conn in import_specs:
            imports.append(
                {
                    "_id": _I[import_key],
                    "name": import_name,
                    "_connectionId": _I[import_conn],
                    "_integrationId": _I[integration],
                    "adaptorType": "NetSuiteDistributedImport",
                }
            )
            processors.append({"type": "import", "_importId": _I[import_key]})
        flows.append(
            {
                "_id": _I[flow_key],
                "name": name,
                "_integrationId": _I[integration],
                "disabled": disabled,
                "pageGenerators": [{"_exportId": _I[export_key]}],
                "pageProcessors": processors,
                "timezone": "America/New_York",
            }
        )
        scenarios[_I[flow_key]] = scenario
    return flows, exports, imports, scenarios


def _export(key: str, name: str, connection: str, integration: str) -> dict[str, Any]:
    return {
        "_id": _I[key],
        "name": name,
        "_connectionId": _I[connection],
        "_integrationId": _I[integration],
        "adaptorType": "HTTPExport",
    }


def _import(key: str, name: str, connection: str, integration: str, adaptor: str) -> dict[str, Any]:
    return {
        "_id": _I[key],
        "name": name,
        "_connectionId": _I[connection],
        "_integrationId": _I[integration],
        "adaptorType": adaptor,
    }


def _storefront_flows() -> tuple[list[dict], list[dict], list[dict], dict[str, dict]]:
    """Return the "Storefronts to ERP" flows: three sources in one flow, and a chained pair."""
    home = "integration_storefronts"
    exports = [
        _export("export_storefront_us", "Get US storefront orders", "conn_shopify", home),
        _export("export_storefront_eu", "Get EU storefront orders", "conn_acme_shopify", home),
        _export("export_storefront_b2b", "Get B2B portal orders", "conn_shopify", home),
        _export("export_nightly_products", "Get NetSuite products", "conn_netsuite", home),
        _export("export_nightly_prices", "Get NetSuite price levels", "conn_netsuite", home),
    ]
    imports = [
        _import("import_storefront_orders", "Create NetSuite sales orders", "conn_netsuite", home, "NetSuiteImport"),
        _import("import_storefront_warehouse", "Load orders to warehouse", "conn_snowflake", home, "RDBMSImport"),
        _import("import_nightly_products", "Update Shopify products", "conn_shopify", home, "HTTPImport"),
        _import("import_nightly_prices", "Update Shopify prices", "conn_shopify", home, "HTTPImport"),
    ]

    def flow(key: str, name: str, sources: list[str], targets: list[str], **extra: Any) -> dict[str, Any]:
        return {
            "_id": _I[key],
            "name": name,
            "_integrationId": _I[home],
            "disabled": False,
            "pageGenerators": [{"_exportId": _I[k]} for k in sources],
            "pageProcessors": [{"type": "import", "_importId": _I[k]} for k in targets],
            "timezone": "America/New_York",
            **extra,
        }

    flows = [
        flow(
            "flow_storefront_orders",
            "All storefront orders to NetSuite",
            ["export_storefront_us", "export_storefront_eu", "export_storefront_b2b"],
            ["import_storefront_orders", "import_storefront_warehouse"],
        ),
        flow(
            "flow_nightly_products",
            "Nightly: products to Shopify",
            ["export_nightly_products"],
            ["import_nightly_products"],
            _runNextFlowIds=[_I["flow_nightly_prices"]],
        ),
        flow("flow_nightly_prices", "Nightly: prices to Shopify", ["export_nightly_prices"], ["import_nightly_prices"]),
    ]
    scenarios = {
        _I["flow_storefront_orders"]: {"export_seconds": 2, "import_seconds": 2, "records": 30, "errors": 1},
        _I["flow_nightly_products"]: {"export_seconds": 1, "import_seconds": 2, "records": 20},
        _I["flow_nightly_prices"]: {"export_seconds": 1, "import_seconds": 1, "records": 15},
    }
    return flows, exports, imports, scenarios


def demo_dump() -> dict[str, Any]:
    """Return the ``demo`` seed as a raw dump (resource lists plus scenarios and lookup data)."""
    flows, exports, imports, scenarios = _flows_exports_imports()
    more_flows, more_exports, more_imports, more_scenarios = _storefront_flows()
    flows, exports, imports = flows + more_flows, exports + more_exports, imports + more_imports
    scenarios.update(more_scenarios)
    return {
        "connections": _connections(),
        "integrations": [
            {
                "_id": _I["integration_shop"],
                "name": "Shop to ERP",
                "description": "Shopify orders, customers and inventory to NetSuite",
                "_registeredConnectionIds": [
                    _I["conn_shopify"],
                    _I["conn_netsuite"],
                    _I["conn_snowflake"],
                    _I["conn_legacy_ftp"],
                ],
            },
            {
                "_id": _I["integration_template"],
                "name": "Customer onboarding template",
                "description": "Cloned once per new customer",
                "_registeredConnectionIds": [_I["conn_shopify"], _I["conn_netsuite"]],
            },
            {
                "_id": _I["integration_marketing"],
                "name": "Marketing segments",
                "description": "Warehouse customer segments tagged in Shopify",
                "_registeredConnectionIds": [_I["conn_snowflake"], _I["conn_shopify"]],
            },
            {
                "_id": _I["integration_storefronts"],
                "name": "Storefronts to ERP",
                "description": "Orders of three storefronts in one flow; products then prices, chained",
                "_registeredConnectionIds": [
                    _I["conn_shopify"],
                    _I["conn_acme_shopify"],
                    _I["conn_netsuite"],
                    _I["conn_snowflake"],
                ],
            },
        ],
        "flows": flows,
        "exports": exports,
        "imports": imports,
        "lookupcaches": [{"_id": _I["lookupcache_sku"], "name": "SKU map", "description": "Shopify SKU -> item"}],
        "scripts": [
            {
                "_id": _I["script_normalize"],
                "name": "Normalize order",
                "content": "function preSavePage(options) { return { data: options.data, errors: [] } }",
            }
        ],
        "tags": [{"_id": _I["tag_production"], "tag": "production"}],
        "agents": [{"_id": _I["agent_onprem"], "name": "On-premise agent"}],
        "iclients": [
            {
                "_id": _I["iclient_shopify"],
                "name": "Shopify OAuth app",
                "provider": "shopify",
                "oauth2": {"clientId": "demo-client-id", "clientSecret": "demo-client-secret"},
            }
        ],
        "stacks": [
            {"_id": _I["stack_pricing"], "name": "Pricing stack", "type": "server", "server": {"hostURI": "https://x"}}
        ],
        "apis": [{"_id": _I["api_order_status"], "name": "Order status API", "version": "1"}],
        "accesstokens": [
            {"_id": _I["accesstoken_airflow"], "name": "Airflow token", "token": "0123456789abcdef0123456789abcdef"}
        ],
        "scenarios": scenarios,
        "lookupData": {_I["lookupcache_sku"]: [{"key": "SKU-1", "value": {"itemId": "101"}}]},
    }


SEEDS = {"demo": demo_dump}


def named_seed(name: str) -> dict[str, Any]:
    """Return the raw dump for a named seed. Raises KeyError for an unknown name."""
    return SEEDS[name]()


def demo_flow_copies(ids: list[str], scenario: dict[str, Any], name: str = "copy") -> dict[str, Any]:
    """Return a raw dump adding one flow per id, each wired like the demo "Orders to NetSuite" flow (its export
    and import), with ``scenario`` for every copy: many distinct flows for concurrency tests."""
    flows = [
        {
            "_id": flow_id,
            "name": f"{name} {flow_id[-4:]}",
            "_integrationId": _I["integration_shop"],
            "disabled": False,
            "pageGenerators": [{"_exportId": _I["export_orders"]}],
            "pageProcessors": [{"type": "import", "_importId": _I["import_orders"]}],
        }
        for flow_id in ids
    ]
    return {"flows": flows, "scenarios": {flow_id: dict(scenario) for flow_id in ids}}
