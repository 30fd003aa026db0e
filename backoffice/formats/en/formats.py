"""Date formats for the en locale (FORMAT_MODULE_PATH): ISO-like dates and 24-hour times with
the time zone's abbreviation (or its offset where the zone has none: "-03"), in the admin and
wherever a template prints a date without naming a format. Input formats stay Django's."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i T"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
