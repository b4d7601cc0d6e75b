"""The demo's content: facilities, consular directory entries and accounts (see demo.py).

Every contact is fictional: example.org addresses and +1 202 555-01xx telephone numbers.
Procedures are modelled on what each country described at the 2012 RCM meeting; consular
work for the region is done from Washington DC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from interviews.accounts import Role

DOMAIN = "demo.consulink.test"
PASSWORD = "consulink-demo"
# Mexico and Central America: where the migrants these consulates serve are detained.
REGION = ("MX", "GT", "BZ", "SV", "HN", "NI", "CR", "PA")


@dataclass(frozen=True)
class DemoFacility:
    """A facility and the one staff account that works there."""

    name: str
    country: str
    city: str
    time_zone: str
    deadline_days: int
    staff_email: str
    staff_name: str


@dataclass(frozen=True)
class DemoUser:
    """An account; staff name their facility and consuls their directory entry."""

    email: str
    name: str
    role: Role
    description: str
    time_zone: str
    facility: str | None = None
    consulate: str | None = None
    language: str = "en"


# Legal terms are illustrative (e.g. Mexico's Ley de Migración art. 111 allows up to 60
# working days when identity or nationality cannot be established); check current law.
FACILITIES = (
    DemoFacility(
        name="Estación Migratoria Siglo XXI",
        country="MX",
        city="Tapachula",
        time_zone="America/Mexico_City",
        deadline_days=60,
        staff_email=f"staff.tapachula@{DOMAIN}",
        staff_name="Lucía Hernández",
    ),
    DemoFacility(
        name="Albergue del Instituto Guatemalteco de Migración",
        country="GT",
        city="Ciudad de Guatemala",
        time_zone="America/Guatemala",
        deadline_days=30,
        staff_email=f"staff.guatemala@{DOMAIN}",
        staff_name="Carlos Ajú",
    ),
    DemoFacility(
        name="Centro de Atención Temporal de Migrantes Sur",
        country="CR",
        city="Paso Canoas",
        time_zone="America/Costa_Rica",
        deadline_days=30,
        staff_email=f"staff.costarica@{DOMAIN}",
        staff_name="Mariela Solano",
    ),
    DemoFacility(
        name="Estación de Recepción Migratoria San Vicente",
        country="PA",
        city="Metetí, Darién",
        time_zone="America/Panama",
        deadline_days=30,
        staff_email=f"staff.panama@{DOMAIN}",
        staff_name="Rubén Batista",
    ),
)


def _mission(country: str, slug: str, number: int, **fields: Any) -> dict[str, Any]:
    """A Washington DC embassy entry with fictional contacts; `fields` add the procedures."""
    names = {
        "IN": "India",
        "BD": "Bangladesh",
        "NP": "Nepal",
        "LK": "Sri Lanka",
        "ET": "Ethiopia",
        "AF": "Afghanistan",
    }
    return {
        "name": f"Embassy of {names[country]}, Washington DC",
        "country": country,
        "kind": "embassy",
        "city": "Washington",
        "located_country": "US",
        "time_zone": "America/New_York",
        "jurisdiction": list(REGION),
        "phone": f"+1 202 555-01{number:02d}",
        "emergency_phone": f"+1 202 555-01{number + 50:02d}",
        "email": f"consular.{slug}@example.org",
        "website": f"https://example.org/demo/{slug}",
        **fields,
    }


CONSULATES = (
    _mission(
        "IN",
        "india",
        1,
        languages=["hin", "eng"],
        opening_hours="Mon–Fri 09:30–12:30 and 14:00–17:00 (Washington time); "
        "video interviews Tue and Thu mornings",
        holidays="Republic Day (26 Jan), Independence Day (15 Aug), Gandhi Jayanti (2 Oct), "
        "Diwali (date varies)",
        video_interviews=True,
        accepted_evidence=["passport_copy", "interview", "questionnaire"],
        questionnaire_name="Identification questionnaire (20 parameters)",
        questionnaire_parameters=20,
        questionnaire_required=5,
        travel_document_days=30,
        notes="Send a passport copy first when there is one. Otherwise the consul interviews "
        "the person and fills the 20-parameter questionnaire; when the authorities in India "
        "confirm 5 parameters, an Emergency Certificate for the return is issued.",
    ),
    _mission(
        "BD",
        "bangladesh",
        2,
        languages=["ben", "eng"],
        opening_hours="Mon–Fri 09:30–17:00 (Washington time)",
        holidays="Independence Day (26 Mar), Victory Day (16 Dec), Eid al-Fitr and "
        "Eid al-Adha (dates vary)",
        video_interviews=True,
        accepted_evidence=["passport_copy", "national_id", "birth_certificate", "interview"],
        travel_document_days=21,
        notes="The national ID or birth registration number is verified with the home "
        "district before a Travel Permit is issued. An office in Mexico City is planned.",
    ),
    _mission(
        "NP",
        "nepal",
        3,
        languages=["nep", "eng"],
        opening_hours="Mon–Fri 10:00–16:00 (Washington time)",
        holidays="Dashain and Tihar (dates vary), Constitution Day (19 Sep)",
        video_interviews=True,
        accepted_evidence=["passport_copy", "national_id", "interview"],
        travel_document_days=15,
        notes="The citizenship certificate number is confirmed with the District "
        "Administration Office; interviews are held in Nepali.",
    ),
    _mission(
        "LK",
        "srilanka",
        4,
        languages=["sin", "tam", "eng"],
        opening_hours="Mon–Fri 09:00–17:00 (Washington time)",
        holidays="Independence Day (4 Feb), Sinhala and Tamil New Year (13–14 Apr), "
        "Vesak (date varies)",
        video_interviews=False,
        accepted_evidence=["passport_copy", "national_id", "birth_certificate", "interview"],
        travel_document_days=30,
        notes="Interviews by telephone; video is not yet accepted. The National Identity "
        "Card number is checked with the Department for Registration of Persons before an "
        "Emergency Travel Document is issued.",
    ),
    _mission(
        "ET",
        "ethiopia",
        5,
        languages=["amh", "orm", "tir", "eng"],
        opening_hours="Mon–Fri 09:00–12:00 (Washington time)",
        holidays="Ethiopian Christmas (7 Jan), Adwa Victory Day (2 Mar), "
        "Ethiopian New Year (11 Sep)",
        video_interviews=True,
        accepted_evidence=["passport_copy", "national_id", "interview", "questionnaire"],
        questionnaire_name="Nationality questionnaire",
        questionnaire_parameters=12,
        questionnaire_required=4,
        travel_document_days=45,
        notes="A kebele ID or birth certificate copy helps. The interview is held in the "
        "person's own language: Amharic, Afaan Oromo or Tigrinya.",
    ),
    _mission(
        "AF",
        "afghanistan",
        6,
        languages=["prs", "pus", "eng"],
        opening_hours="Mon–Thu 10:00–15:00 (Washington time)",
        holidays="Nowruz (21 Mar), Independence Day (19 Aug)",
        video_interviews=False,
        accepted_evidence=["national_id", "passport_copy", "interview"],
        travel_document_days=60,
        notes="A copy of the tazkira (national ID) is the main evidence; interviews by "
        "telephone in Dari or Pashto. Travel documents take long.",
    ),
)

_CONSULS = (
    ("india", "Rajesh Malhotra", "IN"),
    ("bangladesh", "Farzana Rahman", "BD"),
    ("nepal", "Bishnu Adhikari", "NP"),
    ("srilanka", "Nirmala Perera", "LK"),
    ("ethiopia", "Dawit Bekele", "ET"),
    ("afghanistan", "Mariam Ahmadzai", "AF"),
)
_ENTRY_BY_COUNTRY = {str(entry["country"]): str(entry["name"]) for entry in CONSULATES}

USERS = (
    DemoUser(
        email=f"admin@{DOMAIN}",
        name="Demo Administrator",
        role=Role.ADMIN,
        description="admin: accounts, directory, audit log",
        time_zone="America/Mexico_City",
    ),
    *(
        DemoUser(
            email=f.staff_email,
            name=f.staff_name,
            role=Role.STAFF,
            description=f"staff at {f.name} ({f.city}, {f.country})",
            time_zone=f.time_zone,
            facility=f.name,
            language="es",
        )
        for f in FACILITIES
    ),
    *(
        DemoUser(
            email=f"consul.{slug}@{DOMAIN}",
            name=name,
            role=Role.CONSUL,
            description=f"consul, {_ENTRY_BY_COUNTRY[country]}",
            time_zone="America/New_York",
            consulate=_ENTRY_BY_COUNTRY[country],
        )
        for slug, name, country in _CONSULS
    ),
    *(
        DemoUser(
            email=f"interpreter.{slug}@{DOMAIN}",
            name=f"{name} ({languages})",
            role=Role.INTERPRETER,
            description=f"interpreter: {languages}",
            time_zone=zone,
        )
        for slug, name, languages, zone in (
            ("hindi", "Priya Nair", "Hindi, English", "America/Mexico_City"),
            ("bengali", "Tanvir Hossain", "Bengali, English", "America/New_York"),
            ("nepali", "Sita Gurung", "Nepali, Hindi", "America/Guatemala"),
            ("sinhala", "Kasun Jayawardena", "Sinhala, Tamil", "America/Costa_Rica"),
            ("amharic", "Hanna Tesfaye", "Amharic, Tigrinya, Oromo", "America/Panama"),
            ("dari", "Ahmad Noori", "Dari, Pashto", "America/Mexico_City"),
        )
    ),
)
