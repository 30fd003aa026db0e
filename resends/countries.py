"""ISO 3166 alpha-2 (Chargebee addresses) to the lower-case alpha-3 codes Return Helper uses,
for prefilling a Return Helper destination from a Chargebee order."""

ISO2_TO_ISO3 = {
    "US": "usa", "CA": "can", "MX": "mex", "GB": "gbr", "IE": "irl", "DE": "deu", "FR": "fra",
    "IT": "ita", "ES": "esp", "PT": "prt", "NL": "nld", "BE": "bel", "LU": "lux", "AT": "aut",
    "CH": "che", "PL": "pol", "CZ": "cze", "DK": "dnk", "SE": "swe", "NO": "nor", "FI": "fin",
    "AU": "aus", "NZ": "nzl", "JP": "jpn", "KR": "kor", "CN": "chn", "HK": "hkg", "TW": "twn",
    "SG": "sgp", "IN": "ind", "BR": "bra", "AR": "arg", "ZA": "zaf", "AE": "are", "IL": "isr",
}  # fmt: skip


def iso3(iso2: str) -> str:
    return ISO2_TO_ISO3.get((iso2 or "").upper(), "")
