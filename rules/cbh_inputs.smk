"""Paths and target function of the cbh rules (kept apart from the rules: snakemake --lint)."""

CBH = f"{RESULTS}/cbh"

CBH_FLIGHTS = [flight["name"] for flight in config_section("cbh", "flights")]
CBH_FLIGHT_FILES = expand(f"{RESOURCES}/cbh/flights/{{flight}}.h5", flight=CBH_FLIGHTS)
CBH_GEOMETRY_FILES = expand(f"{CBH}/geometry/{{flight}}.h5", flight=CBH_FLIGHTS)
CBH_CACHE = f"{CBH}/cache.h5"


def cbh_targets(wildcards):
    """Final outputs of the cbh module."""
    return [CBH_CACHE]
