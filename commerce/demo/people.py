"""Demo customers and addresses: Faker for names and streets, our own rules for the formats the
agent must match (postal codes, emails on reserved example domains, phone numbers)."""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta

from faker import Faker

from commerce.models import Address, Customer

# Mostly US, with the three foreign postal-code shapes the agent has to normalise.
COUNTRY_WEIGHTS = {"US": 82, "CA": 8, "GB": 6, "DE": 4}
_LOCALES = {"US": "en_US", "CA": "en_CA", "GB": "en_GB", "DE": "de_DE"}
# RFC 2606 domains: generated customers must never match a real mailbox.
_EMAIL_DOMAINS = ["example.com", "example.net", "example.org"]


class People:
    """Seeded Faker instances, one per country, plus the shared random.Random."""

    def __init__(self, seed: int, rng: random.Random) -> None:
        self.rng = rng
        self.fakers: dict[str, Faker] = {}
        for offset, (country, locale) in enumerate(_LOCALES.items()):
            fake = Faker(locale)
            fake.seed_instance(seed * 10 + offset)
            self.fakers[country] = fake
        self._emails: set[str] = set()

    def country(self) -> str:
        return self.rng.choices(list(COUNTRY_WEIGHTS), weights=list(COUNTRY_WEIGHTS.values()))[0]

    def address(self, country: str, name: str) -> Address:
        fake, rng = self.fakers[country], self.rng
        line2 = fake.secondary_address() if country == "US" and rng.random() < 0.2 else None
        if country == "US":
            region: str | None = fake.state_abbr(
                include_territories=False, include_freely_associated_states=False
            )
            postal = fake.postcode()
        elif country == "CA":
            region = fake.province_abbr()
            raw = fake.postcode().replace(" ", "")
            postal = f"{raw[:3]} {raw[3:]}"
        elif country == "GB":
            region, postal = None, fake.postcode()
        else:
            region, postal = fake.state(), fake.postcode()
        return Address(
            name=name,
            line1=fake.street_address(),
            line2=line2,
            city=fake.city(),
            region=region,
            postal_code=postal,
            country=country,
        )

    def phone(self, country: str) -> str:
        digits = "".join(str(self.rng.randint(0, 9)) for _ in range(7))
        if country in ("US", "CA"):
            return f"+1 {self.rng.randint(201, 989)}-555-{digits[:4]}"
        if country == "GB":
            return f"+44 7700 9{digits[:5]}"
        return f"+49 151 {digits}"

    def email(self, first: str, last: str) -> str:
        local = _ascii(f"{first}.{last}").lower().replace(" ", "").replace("'", "")
        domain = self.rng.choice(_EMAIL_DOMAINS)
        email, n = f"{local}@{domain}", 1
        while email in self._emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self._emails.add(email)
        return email

    def customer(self, index: int, anchor: datetime) -> Customer:
        country = self.country()
        fake = self.fakers[country]
        first, last = fake.first_name(), fake.last_name()
        created = anchor - timedelta(days=self.rng.uniform(125, 1000))
        tags = ["VIP"] if self.rng.random() < 0.08 else []
        if self.rng.random() < 0.3:
            tags.append("newsletter")
        return Customer(
            id=f"cus_{index:04d}",
            email=self.email(first, last),
            first_name=first,
            last_name=last,
            phone=self.phone(country) if self.rng.random() < 0.85 else None,
            tags=tags,
            created_at=created.replace(microsecond=0),
            default_address=self.address(country, f"{first} {last}"),
        )


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
