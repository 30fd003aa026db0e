"""Static reference tables in the providers' own wire shapes."""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]

# (ISO3 lower-case as Return Helper uses it, name, ISO2 as Chargebee uses it)
COUNTRY_TABLE: tuple[tuple[str, str, str], ...] = (
    ("usa", "United States", "US"),
    ("can", "Canada", "CA"),
    ("mex", "Mexico", "MX"),
    ("gbr", "United Kingdom", "GB"),
    ("deu", "Germany", "DE"),
    ("fra", "France", "FR"),
    ("ita", "Italy", "IT"),
    ("esp", "Spain", "ES"),
    ("nld", "Netherlands", "NL"),
    ("bel", "Belgium", "BE"),
    ("aut", "Austria", "AT"),
    ("pol", "Poland", "PL"),
    ("che", "Switzerland", "CH"),
    ("aus", "Australia", "AU"),
    ("jpn", "Japan", "JP"),
    ("hkg", "Hong Kong", "HK"),
    ("twn", "Taiwan", "TW"),
)
ISO2_TO_ISO3: dict[str, str] = {iso2: iso3 for iso3, _, iso2 in COUNTRY_TABLE}
ISO3_CODES: frozenset[str] = frozenset(iso3 for iso3, _, _ in COUNTRY_TABLE)

WAREHOUSES: tuple[JsonDict, ...] = (
    {
        "warehouseId": 11,
        "warehouseCode": "US-NJ",
        "warehouseName": "Return Helper New Jersey",
        "countryCode": "usa",
        "currencyCode": "USD",
    },
    {
        "warehouseId": 22,
        "warehouseCode": "DE-FRA",
        "warehouseName": "Return Helper Frankfurt",
        "countryCode": "deu",
        "currencyCode": "EUR",
    },
)

_ALL = [iso3 for iso3, _, _ in COUNTRY_TABLE]
# warehouseId -> [(serviceTypeCode, label, destination ISO3 codes)]
_SERVICE_TYPES: dict[int, list[tuple[str, str, list[str]]]] = {
    11: [
        ("usps", "USPS", ["usa"]),
        ("SHIPMENT_USPS_GA_SIG_NJ", "USPS Ground Advantage (Signature)", ["usa"]),
        ("SHIPMENT_UPS_GROUND_NJ", "UPS Ground", ["usa", "can"]),
        (
            "SHIPMENT_DHL_EXPRESS_NJ",
            "DHL Express Worldwide",
            ["can", "mex", "gbr", "deu", "fra", "aus", "jpn", "hkg", "twn"],
        ),
        ("others", "Others (contact CS before use)", _ALL),
    ],
    22: [
        ("SHIPMENT_DHL_PAKET_FRA", "DHL Paket", ["deu"]),
        (
            "SHIPMENT_DPD_EU_FRA",
            "DPD Europe Classic",
            ["fra", "ita", "esp", "nld", "bel", "aut", "pol", "che"],
        ),
        ("SHIPMENT_UPS_STANDARD_FRA", "UPS Standard", ["deu", "gbr", "che", "fra"]),
        (
            "SHIPMENT_DHL_EXPRESS_FRA",
            "DHL Express Worldwide",
            ["usa", "can", "gbr", "aus", "jpn", "hkg", "twn"],
        ),
        ("others", "Others (contact CS before use)", _ALL),
    ],
}


def warehouse_country(warehouse_id: int) -> str | None:
    for warehouse in WAREHOUSES:
        if warehouse["warehouseId"] == warehouse_id:
            return str(warehouse["countryCode"])
    return None


def service_types() -> list[JsonDict]:
    """One entry per (warehouse, service type), as getAvailableShipmentServiceType returns."""
    rows: list[JsonDict] = []
    for warehouse_id, entries in _SERVICE_TYPES.items():
        origin = warehouse_country(warehouse_id)
        for code, label, destinations in entries:
            rows.append(
                {
                    "serviceTypeCode": code,
                    "serviceType": label,
                    "countryCodePairList": [
                        {
                            "warehouseId": warehouse_id,
                            "description": f"{label} {origin} -> {dest}",
                            "fromCountryCode": origin,
                            "toCountryCode": dest,
                        }
                        for dest in destinations
                    ],
                }
            )
    return rows


def countries() -> list[JsonDict]:
    return [{"countryCode": iso3, "CountryName": name} for iso3, name, _ in COUNTRY_TABLE]


RESEND_STATUSES: tuple[JsonDict, ...] = (
    {"resendStatusCode": 0, "resendStatus": "pending", "resendStageDescription": "Pending"},
    {"resendStatusCode": 1, "resendStatus": "canceled", "resendStageDescription": "Canceled"},
    {
        "resendStatusCode": 2,
        "resendStatus": "inProgress",
        "resendStageDescription": "Warehouse is preparing the shipment",
    },
    {
        "resendStatusCode": 3,
        "resendStatus": "completed",
        "resendStageDescription": "Shipped, tracking number available",
    },
    {"resendStatusCode": 4, "resendStatus": "failed", "resendStageDescription": "Failed"},
)
RESEND_STATUS_NAMES: dict[int, str] = {
    int(row["resendStatusCode"]): str(row["resendStatus"]) for row in RESEND_STATUSES
}

HANDLINGS: tuple[JsonDict, ...] = (
    {"handlingCode": "tbc", "handling": "To Be Confirmed", "handlingId": 0},
    {"handlingCode": "rtn", "handling": "Recall", "handlingId": 1},
    {"handlingCode": "dis", "handling": "Disposal", "handlingId": 2},
    {"handlingCode": "rsd", "handling": "Resend", "handlingId": 3},
    {"handlingCode": "ohd", "handling": "On Hold", "handlingId": 4},
    {"handlingCode": "oth", "handling": "Others", "handlingId": 5},
)
HANDLING_STATUSES: tuple[JsonDict, ...] = (
    {"handlingStatusCode": 0, "handlingStatus": "pending"},
    {"handlingStatusCode": 1, "handlingStatus": "inProgress"},
    {"handlingStatusCode": 2, "handlingStatus": "completed"},
)

# Junction low-level status -> top-level status.
JUNCTION_TOP_LEVEL: dict[str, str] = {
    "ordered": "received",
    "requisition_created": "received",
    "transit_customer": "collecting_sample",
    "out_for_delivery": "collecting_sample",
    "with_customer": "collecting_sample",
    "transit_lab": "collecting_sample",
    "problem_in_transit_customer": "collecting_sample",
    "problem_in_transit_lab": "collecting_sample",
    "appointment_scheduled": "collecting_sample",
    "delivered_to_lab": "sample_with_lab",
    "draw_completed": "sample_with_lab",
    "completed": "completed",
    "cancelled": "cancelled",
    "do_not_process": "cancelled",
    "lost": "failed",
    "failure_to_deliver_to_customer": "failed",
    "failure_to_deliver_to_lab": "failed",
    "sample_error": "failed",
}
