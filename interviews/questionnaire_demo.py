"""Demo questionnaires: India's 20 identification parameters (5 must be confirmed) and
Ethiopia's shorter nationality questionnaire (4 of 12).

The parameters follow what these consulates ask in practice: names of the person and
parents, birth, the home's administrative units down to the village or kebele, school,
languages, documents and people at home who can confirm the story. Labels are in the
consulate's language with English and Spanish beside them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.consulates import Consulate
from interviews.questionnaires import QuestionnaireIn, current_definition, save_definition


def _p(key: str, label: str, en: str, es: str, help: str = "") -> dict[str, str]:
    return {"key": key, "label": label, "label_en": en, "label_es": es, "help": help}


INDIA: dict[str, Any] = {
    "name": "Identification questionnaire (20 parameters)",
    "language": "hin",
    "required": 5,
    "parameters": [
        _p("full_name", "पूरा नाम", "Full name", "Nombre completo",
           "As the person says it and as it would be written at home; note other spellings."),
        _p("fathers_name", "पिता का नाम", "Father's name", "Nombre del padre"),
        _p("mothers_name", "माता का नाम", "Mother's name", "Nombre de la madre"),
        _p("date_of_birth", "जन्म तिथि", "Date of birth", "Fecha de nacimiento",
           "Or the age and a festival or event near the birth, if the date is not known."),
        _p("place_of_birth", "जन्म स्थान", "Place of birth", "Lugar de nacimiento"),
        _p("village_town", "गाँव / कस्बा", "Village or town", "Pueblo o ciudad"),
        _p("tehsil", "तहसील / तालुका", "Tehsil or taluka (sub-district)",
           "Tehsil o taluka (subdistrito)"),
        _p("district", "ज़िला", "District", "Distrito"),
        _p("state", "राज्य", "State", "Estado"),
        _p("pin_code", "पिन कोड", "PIN code of the home address", "Código PIN del domicilio"),
        _p("school", "स्कूल का नाम", "School attended", "Escuela a la que asistió",
           "Name, place and the last class completed."),
        _p("languages", "बोली जाने वाली भाषाएँ", "Languages spoken", "Idiomas que habla",
           "Note the dialect: it often points to the district."),
        _p("religion_community", "धर्म / समुदाय", "Religion or community (as declared)",
           "Religión o comunidad (según la declara)",
           "Only as the person chooses to state it; never press for it."),
        _p("passport_number", "पासपोर्ट संख्या (यदि हो)", "Passport number, if any",
           "Número de pasaporte, si tiene"),
        _p("aadhaar_number", "आधार संख्या (यदि हो)", "Aadhaar number, if any",
           "Número Aadhaar, si tiene"),
        _p("previous_addresses", "भारत में पिछले पते", "Previous addresses in India",
           "Domicilios anteriores en India"),
        _p("relatives_contact", "भारत में रिश्तेदार और उनका संपर्क",
           "Relatives in India and how to reach them", "Familiares en India y cómo contactarlos",
           "A telephone number the authorities in India can call to confirm."),
        _p("local_landmarks", "घर के पास के स्थानीय चिह्न", "Landmarks near home",
           "Puntos de referencia cerca de su casa",
           "A temple, gurdwara or mosque, a school, a market, a river: the local police can "
           "check them."),
        _p("police_station", "नज़दीकी पुलिस थाना", "Nearest police station",
           "Comisaría más cercana"),
        _p("village_head", "सरपंच / पार्षद का नाम", "Name of the village head or ward councillor",
           "Nombre del jefe del pueblo (sarpanch) o del concejal"),
    ],
}  # fmt: skip

ETHIOPIA: dict[str, Any] = {
    "name": "Nationality questionnaire",
    "language": "amh",
    "required": 4,
    "parameters": [
        _p("full_name", "ሙሉ ስም", "Full name", "Nombre completo"),
        _p("fathers_name", "የአባት ስም", "Father's name", "Nombre del padre"),
        _p("grandfathers_name", "የአያት ስም", "Grandfather's name", "Nombre del abuelo",
           "Ethiopian names are given name, father's name, grandfather's name."),
        _p("mothers_name", "የእናት ስም", "Mother's name", "Nombre de la madre"),
        _p("date_of_birth", "የትውልድ ቀን", "Date of birth", "Fecha de nacimiento",
           "Say whether it is in the Ethiopian or the Gregorian calendar."),
        _p("place_of_birth", "የትውልድ ቦታ", "Place of birth", "Lugar de nacimiento"),
        _p("region", "ክልል", "Region", "Región"),
        _p("zone_woreda", "ዞን እና ወረዳ", "Zone and woreda (district)", "Zona y woreda (distrito)"),
        _p("kebele", "ቀበሌ", "Kebele (neighbourhood) and kebele ID number",
           "Kebele (barrio) y número de identificación del kebele"),
        _p("school", "የተማሩበት ትምህርት ቤት", "School attended", "Escuela a la que asistió"),
        _p("languages", "የሚናገሯቸው ቋንቋዎች", "Languages spoken", "Idiomas que habla"),
        _p("relatives_contact", "በኢትዮጵያ ያሉ ዘመዶች እና አድራሻቸው",
           "Relatives in Ethiopia and how to reach them",
           "Familiares en Etiopía y cómo contactarlos"),
    ],
}  # fmt: skip

# Directory entry name (as in demo_data) -> its questionnaire.
DEMO_QUESTIONNAIRES = {
    "Embassy of India, Washington DC": INDIA,
    "Embassy of Ethiopia, Washington DC": ETHIOPIA,
}


async def load_demo_questionnaires(session: AsyncSession) -> int:
    """Define each demo consulate's questionnaire unless it already has one; returns how many."""
    added = 0
    for name, definition in DEMO_QUESTIONNAIRES.items():
        consulate = await session.scalar(
            select(Consulate).where(func.lower(Consulate.name) == name.lower())
        )
        if consulate is None or await current_definition(session, consulate.id) is not None:
            continue
        await save_definition(
            session, consulate, QuestionnaireIn.model_validate(definition), actor=None
        )
        added += 1
    return added
