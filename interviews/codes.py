"""Real code lists: ISO 3166 countries, ISO 639 languages (pycountry) and IANA time zones.

Codes are stored as given by the standards: countries as upper-case alpha-2, languages as
lower-case ISO 639-3 (two-letter ISO 639-1 input is accepted and widened), zones as IANA names.
"""

from __future__ import annotations

import gettext
import zoneinfo
from functools import cache

import pycountry


class CodeError(ValueError):
    """A code that is not on its list."""


def country(code: str) -> str:
    """Normalise an ISO 3166-1 alpha-2 (or alpha-3) country code, or raise CodeError."""
    raw = code.strip()
    found = None
    if len(raw) == 2:
        found = pycountry.countries.get(alpha_2=raw.upper())
    elif len(raw) == 3:
        found = pycountry.countries.get(alpha_3=raw.upper())
    if found is None:
        raise CodeError(f"unknown country code {code!r} (use ISO 3166-1 alpha-2, e.g. IN)")
    return str(found.alpha_2)


def language(code: str) -> str:
    """Normalise an ISO 639-3 (or 639-1) language code to ISO 639-3, or raise CodeError."""
    raw = code.strip().lower()
    found = None
    if len(raw) == 2:
        found = pycountry.languages.get(alpha_2=raw)
    elif len(raw) == 3:
        found = pycountry.languages.get(alpha_3=raw)
    if found is None:
        raise CodeError(f"unknown language code {code!r} (use ISO 639-3, e.g. hin)")
    return str(found.alpha_3)


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone(name: str) -> str:
    """Check an IANA time zone name, or raise CodeError."""
    raw = name.strip()
    if raw not in _zones():
        raise CodeError(f"unknown time zone {name!r} (use an IANA name, e.g. America/New_York)")
    return raw


@cache
def _translator(domain: str, locale: str) -> gettext.NullTranslations:
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[locale], fallback=True)


def country_name(code: str, locale: str = "en") -> str:
    """The country's common name in `locale` (falls back to the code)."""
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    name = str(getattr(found, "common_name", None) or found.name)
    return _translator("iso3166-1", locale).gettext(name)


def language_name(code: str, locale: str = "en") -> str:
    """The language's name in `locale` (falls back to the code)."""
    found = pycountry.languages.get(alpha_3=code)
    if found is None:
        return code
    return _translator("iso639-3", locale).gettext(str(found.name))


@cache
def country_choices(locale: str = "en") -> tuple[tuple[str, str], ...]:
    """All countries as (code, name) sorted by name in `locale`, for select boxes."""
    pairs = ((str(c.alpha_2), country_name(str(c.alpha_2), locale)) for c in pycountry.countries)
    return tuple(sorted(pairs, key=lambda p: p[1]))


def time_zone_choices() -> list[str]:
    """All IANA zone names, sorted."""
    return sorted(_zones())
