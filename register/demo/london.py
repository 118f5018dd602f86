"""Facts the demo register is built from: London's LOTI member boroughs, the GLA and TfL.

Centres are approximate borough centroids (WGS84) and areas are in km²; devices are placed within
a circle of 60 % of each borough's equivalent radius, which keeps them inside the borough.
Streets are real streets of each borough, for plain-language place descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Borough:
    slug: str
    name: str
    latitude: float
    longitude: float
    area_km2: float
    domain: str
    streets: tuple[str, ...]


BOROUGHS = (
    Borough(
        "brent",
        "London Borough of Brent",
        51.5588,
        -0.2817,
        43.2,
        "brent.gov.uk",
        ("Kilburn High Road", "Harlesden High Street", "Wembley High Road", "Ealing Road"),
    ),
    Borough(
        "camden",
        "London Borough of Camden",
        51.5517,
        -0.1588,
        21.8,
        "camden.gov.uk",
        ("Camden High Street", "Kentish Town Road", "Euston Road", "Finchley Road"),
    ),
    Borough(
        "croydon",
        "London Borough of Croydon",
        51.3714,
        -0.0977,
        86.5,
        "croydon.gov.uk",
        ("North End", "London Road", "Brighton Road", "Addiscombe Road"),
    ),
    Borough(
        "ealing",
        "London Borough of Ealing",
        51.5130,
        -0.3089,
        55.5,
        "ealing.gov.uk",
        ("The Broadway", "Uxbridge Road", "South Ealing Road", "Northfield Avenue"),
    ),
    Borough(
        "greenwich",
        "Royal Borough of Greenwich",
        51.4892,
        0.0648,
        47.4,
        "royalgreenwich.gov.uk",
        ("Greenwich High Road", "Powis Street", "Trafalgar Road", "Eltham High Street"),
    ),
    Borough(
        "hackney",
        "London Borough of Hackney",
        51.5450,
        -0.0553,
        19.1,
        "hackney.gov.uk",
        ("Mare Street", "Kingsland High Street", "Stoke Newington Church Street", "Dalston Lane"),
    ),
    Borough(
        "hounslow",
        "London Borough of Hounslow",
        51.4746,
        -0.3680,
        56.0,
        "hounslow.gov.uk",
        ("Hounslow High Street", "Chiswick High Road", "Staines Road", "London Road"),
    ),
    Borough(
        "kensington-chelsea",
        "Royal Borough of Kensington and Chelsea",
        51.5020,
        -0.1947,
        12.1,
        "rbkc.gov.uk",
        ("Kensington High Street", "King's Road", "Portobello Road", "Earl's Court Road"),
    ),
    Borough(
        "kingston",
        "Royal Borough of Kingston upon Thames",
        51.3925,
        -0.2817,
        37.3,
        "kingston.gov.uk",
        ("Clarence Street", "Eden Street", "Surbiton Road", "Kingston Hill"),
    ),
    Borough(
        "lambeth",
        "London Borough of Lambeth",
        51.4607,
        -0.1163,
        26.8,
        "lambeth.gov.uk",
        ("Brixton Road", "Coldharbour Lane", "Clapham High Street", "Streatham High Road"),
    ),
    Borough(
        "newham",
        "London Borough of Newham",
        51.5255,
        0.0352,
        36.2,
        "newham.gov.uk",
        ("Stratford High Street", "Barking Road", "Green Street", "Romford Road"),
    ),
    Borough(
        "southwark",
        "London Borough of Southwark",
        51.4734,
        -0.0755,
        28.9,
        "southwark.gov.uk",
        ("Walworth Road", "Old Kent Road", "Rye Lane", "Borough High Street"),
    ),
    Borough(
        "sutton",
        "London Borough of Sutton",
        51.3618,
        -0.1945,
        43.8,
        "sutton.gov.uk",
        ("Sutton High Street", "Carshalton Road", "Cheam Road", "Wallington Green"),
    ),
    Borough(
        "tower-hamlets",
        "London Borough of Tower Hamlets",
        51.5099,
        -0.0059,
        19.8,
        "towerhamlets.gov.uk",
        ("Whitechapel Road", "Commercial Road", "Roman Road", "Bow Road"),
    ),
    Borough(
        "waltham-forest",
        "London Borough of Waltham Forest",
        51.5908,
        -0.0134,
        38.8,
        "walthamforest.gov.uk",
        ("Hoe Street", "Lea Bridge Road", "Walthamstow High Street", "Forest Road"),
    ),
    Borough(
        "westminster",
        "City of Westminster",
        51.4973,
        -0.1372,
        21.5,
        "westminster.gov.uk",
        ("Oxford Street", "Strand", "Victoria Street", "Edgware Road"),
    ),
)

# (slug, name, kind, domain)
CITY_BODIES = (
    ("gla", "Greater London Authority", "regional_authority", "london.gov.uk"),
    ("tfl", "Transport for London", "transport_authority", "tfl.gov.uk"),
)
