"""Small built-in word lists for realistic demo names, addresses and products."""

from __future__ import annotations

# fmt: off
FIRST_NAMES: tuple[str, ...] = (
    "Alice", "Bob", "Charlie", "Diana", "Ethan", "Fatima", "George", "Hannah", "Ivan", "Julia",
    "Kenji", "Laura", "Mateo", "Nora", "Oliver", "Priya", "Quentin", "Rosa", "Samuel", "Tanja",
    "Umar", "Vera", "William", "Xenia", "Yusuf", "Zoe", "Amelia", "Lukas", "Sofia", "Noah", "Emma",
    "Liam", "Mia", "Lena", "Jonas", "Chloe", "Lucas", "Elif", "Marco", "Ingrid",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Garcia", "Miller", "Davis", "Martinez", "Lopez", "Wilson", "Anderson",
    "Thomas", "Moore", "Jackson", "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright",
    "Scott", "Green", "Baker", "Nguyen", "Kim", "Patel", "Schmidt", "Muller", "Schneider",
    "Fischer", "Weber", "Dubois", "Bernard", "Rossi", "Bianchi", "Jansen", "Novak", "Kowalski",
    "Tanaka", "O'Brien", "Okafor",
)
STREETS: tuple[str, ...] = (
    "Maple Avenue", "Oak Street", "Pine Road", "Cedar Lane", "Elm Street", "Washington Blvd",
    "Lake Drive", "Hillcrest Road", "Park Avenue", "Sunset Blvd", "Hauptstrasse", "Bahnhofstrasse",
    "Rue de la Paix", "Via Roma", "Kerkstraat", "High Street", "Station Road", "Calle Mayor",
)
# fmt: on

# ISO2 -> [(city, state, state_code, zip template: '#' = digit)]
CITIES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "US": (
        ("Austin", "Texas", "TX", "787##"),
        ("Denver", "Colorado", "CO", "802##"),
        ("Portland", "Oregon", "OR", "972##"),
        ("Newark", "New Jersey", "NJ", "071##"),
        ("Chicago", "Illinois", "IL", "606##"),
        ("Miami", "Florida", "FL", "331##"),
        ("Seattle", "Washington", "WA", "981##"),
        ("Boston", "Massachusetts", "MA", "021##"),
    ),
    "CA": (
        ("Toronto", "Ontario", "ON", "M5V #A#"),
        ("Vancouver", "British Columbia", "BC", "V6B #C#"),
    ),
    "GB": (("London", "England", "ENG", "SW1A #AA"), ("Manchester", "England", "ENG", "M1 #AE")),
    "DE": (
        ("Berlin", "Berlin", "BE", "10###"),
        ("Hamburg", "Hamburg", "HH", "20###"),
        ("Munich", "Bavaria", "BY", "80###"),
    ),
    "FR": (
        ("Paris", "Ile-de-France", "IDF", "750##"),
        ("Lyon", "Auvergne-Rhone-Alpes", "ARA", "690##"),
    ),
    "NL": (("Amsterdam", "Noord-Holland", "NH", "10## AB"),),
    "IT": (("Milan", "Lombardy", "MI", "201##"),),
}

# (sku, description, unit price in cents)
PRODUCTS: tuple[tuple[str, str, int], ...] = (
    ("SKU-TSHIRT-BLK-M", "Organic cotton t-shirt, black, M", 2900),
    ("SKU-TSHIRT-WHT-L", "Organic cotton t-shirt, white, L", 2900),
    ("SKU-HOODIE-GRY-M", "Fleece hoodie, grey, M", 6900),
    ("SKU-MUG-CER-350", "Ceramic mug 350 ml", 1800),
    ("SKU-BOTTLE-STL-750", "Steel bottle 750 ml", 3400),
    ("SKU-CAP-NVY", "Baseball cap, navy", 2400),
    ("SKU-SOCKS-3PK", "Merino socks, 3 pack", 2200),
    ("SKU-TOTE-CNV", "Canvas tote bag", 1900),
    ("SKU-NOTE-A5", "Dotted notebook A5", 1500),
    ("SKU-CANDLE-CED", "Cedar scented candle", 2600),
    ("SKU-BEANIE-OLV", "Knit beanie, olive", 2500),
    ("SKU-SCARF-WOL", "Wool scarf", 4900),
)

LAB_TESTS: tuple[tuple[str, str, str], ...] = (
    ("lipids-panel", "Lipids Panel", "dried blood spot"),
    ("vitamin-d", "Vitamin D (25-OH)", "dried blood spot"),
    ("hba1c", "HbA1c", "dried blood spot"),
    ("thyroid-panel", "Thyroid Panel", "serum"),
    ("testosterone", "Total Testosterone", "saliva"),
)
