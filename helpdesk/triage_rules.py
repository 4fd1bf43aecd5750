"""High-precision rules for triage: the cases a classifier must never get wrong.

Each rule is a named function over the message text (and its detected language) returning a bool,
so tests can pin them one by one. English patterns always apply (customers mix languages); the
patterns for other languages apply only when that language was detected, because short words
such as "brand" or "feu" mean different things across languages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_I = re.IGNORECASE


def _any(patterns: Mapping[str, re.Pattern[str]], text: str, language: str) -> bool:
    return any(
        pattern.search(text)
        for lang, pattern in patterns.items()
        if lang == "en" or lang == language
    )


# --- explicit request for a person ------------------------------------------------------------

_PERSON = (
    r"(?:a |an |the |some |your |one of your )?(?:real |live |actual |human |proper )?"
    r"(?:human|person|people|agent|representative|rep|manager|supervisor|someone|somebody|"
    r"staff(?: member)?|member of (?:staff|your team)|operator|advisor|adviser)"
)
_HUMAN = {
    "en": re.compile(
        r"\b(?:speak|talk|chat)(?:ing)? (?:to|with) " + _PERSON + r"\b"
        r"|\b(?:real|live|actual) (?:human|person|people|agent)\b"
        r"|\b(?:is|are) there (?:a |an |any )?(?:real |live |actual )?(?:human|humans|"
        r"person|people)(?: (?:on the other end|there|here|working|around|available))?\s*\?*$"
        r"|\b(?:get|give|want|need|prefer)(?: me)? " + _PERSON + r"(?! (?:told|said|promised))\b"
        r"|\b(?:transfer|connect|put) me (?:to|with|through)\b"
        r"|\bescalate (?:this|it|me)? ?to\b"
        r"|^\W*(?:human|agent|operator|representative|person|speak to (?:a )?human)"
        r"\W*(?:please|pls|plz|now)?\W*$"
        r"|\bnot (?:a|the|your) (?:bot|robot)\b|\bno (?:more )?bots?\b|\bstop with the bot\b"
        r"|\bhuman,? (?:please|pls|plz)\b",
        _I,
    ),
    "es": re.compile(
        r"\bhablar con (?:una persona|un agente|alguien|un humano|un asesor)|\bagente humano\b", _I
    ),
    "fr": re.compile(
        r"\bparler (?:à|a|avec) (?:un|une|quelqu'un|quelqu’un)|\bconseiller humain\b", _I
    ),
    "de": re.compile(
        r"\bmit (?:einem|einer) (?:mitarbeiter|mitarbeiterin|menschen|person|echten menschen)"
        r"|\b(?:echten|richtigen) menschen\b",
        _I,
    ),
    "it": re.compile(r"\bparlare con (?:un operatore|una persona|qualcuno|un umano)", _I),
    "pt": re.compile(
        r"\bfalar com (?:um atendente|uma pessoa|alguém|um humano|um agente)|\batendente humano\b",
        _I,
    ),
    "nl": re.compile(
        r"\b(?:spreken|praten) met (?:een medewerker|iemand|een mens)"
        r"|\bmet een medewerker\b",
        _I,
    ),
}


def asks_for_human(text: str, language: str = "en") -> bool:
    """The customer explicitly asks for a person (agent, manager, a real human...)."""
    return _any(_HUMAN, text, language)


# --- safety: someone was or could have been hurt -----------------------------------------------

_SAFETY = {
    "en": re.compile(
        r"\b(?:caught|catch|catching|on) fire\b|\bfire (?:hazard|brigade)\b|\bflames?\b"
        r"|\b(?:smok(?:e|ed|ing)|spark(?:ed|ing|s)|explod(?:e|ed|ing)|exploded|melt(?:ed|ing))\b"
        r"|\bscorch|\bburn(?:t|ed|ing|s)?\b|\belectric(?:al)? shock|\bgave me a shock\b"
        r"|\binjur|\bhurt (?:my|his|her|their|him|me|herself|himself)\b|\bbleed"
        r"|\bcut (?:my|his|her|their) \w+|\bhospital\b|\bA&E\b|\bemergency room\b"
        r"|\ballergic\b|\brash\b|\bswollen\b|\bswallow|\bchok(?:e|ed|ing)\b|\bpoison|\btoxic\b"
        r"|\bglass (?:shards|splinters|pieces)\b|\bshards? of glass\b"
        r"|\b(?:nearly|almost|could have) (?:fell|fall|fallen|died|killed|hurt|injured|choked)"
        r"|\bunsafe\b|\bdangerous\b",
        _I,
    ),
    "es": re.compile(r"\bincendi|\bfuego\b|\bquem(?:ó|ad|adura)|\bherid|\blesi[oó]n|\bexplot", _I),
    "fr": re.compile(r"\bfeu\b|\bbr[uû]l|\bbless[ée]|\bincendie|\bexplos|\bdangereu", _I),
    "de": re.compile(r"\bfeuer\b|\bbrand\b|\bverbrann|\bverletz|\bexplodi|\bgefährlich", _I),
    "it": re.compile(r"\bfuoco\b|\bincendi|\bustion|\bferit|\besplo|\bpericolos", _I),
    "pt": re.compile(r"\bfogo\b|\bincêndi|\bqueim|\bferid|\bexplod|\bperigos", _I),
    "nl": re.compile(r"\bbrand\b|\bverbrand|\bgewond|\bontplof|\bgevaarlijk", _I),
}


def safety_issue(text: str, language: str = "en") -> bool:
    """A product hurt someone or could have: fire, smoke, burns, shock, injury, allergy, choking."""
    return _any(_SAFETY, text, language)


# --- legal threats and payment disputes ---------------------------------------------------------

_LEGAL = {
    "en": re.compile(
        r"\blawyers?\b|\battorney|\bsolicitor|\b(?:sue|suing) (?:you|your|them|the)\b"
        r"|\blaw ?suit|\blegal (?:action|right)"
        r"|\bcourt\b|\bsmall claims\b|\btrading standards\b|\bconsumer (?:protection|rights)"
        r"|\bombudsman\b|\bBBB\b|\bbetter business bureau\b"
        r"|\breport(?:ing)? (?:you|this|it|your company) to (?:the )?(?!my bank)\w+"
        r"|\bdata protection authority\b|\bauthorities\b",
        _I,
    ),
    "es": re.compile(r"\babogad|\bdenunci|\bdemanda|\btribunal", _I),
    "fr": re.compile(r"\bavocat|\bplainte\b|\btribunal|\bporter plainte", _I),
    "de": re.compile(r"\banwalt|\bklage\b|\bverklagen|\bgericht|\bverbraucherzentrale", _I),
    "it": re.compile(r"\bavvocat|\bdenunci|\btribunale", _I),
    "pt": re.compile(r"\badvogad|\bprocess(?:ar|o judicial)|\btribunal", _I),
    "nl": re.compile(r"\badvocaat|\brechter|\brechtszaak|\baanklacht", _I),
}

_CHARGEBACK = re.compile(
    r"\bcharge ?back|\bdisput(?:e|ing)\b[^.!?]{0,40}\b(?:bank|card|paypal|credit card company)"
    r"|\b(?:opened|open|filed|file|raise|raised) a (?:dispute|claim)\b"
    r"|\breport(?:ing)? (?:you|this|it) to my bank\b|\bclaim (?:with|through) my bank\b",
    _I,
)


def legal_threat(text: str, language: str = "en") -> bool:
    """Lawyers, courts, regulators, or reporting the shop to an authority."""
    return _any(_LEGAL, text, language)


def chargeback_threat(text: str) -> bool:
    """The customer disputes, or threatens to dispute, the payment with the bank or PayPal."""
    return bool(_CHARGEBACK.search(text))


# --- fraud and account security ----------------------------------------------------------------

_FRAUD = re.compile(
    r"\bunauthori[sz]ed\b|\bfraud|\bhack(?:ed|er)\b|\bsomeone (?:has|had|got|gained) access\b"
    r"|\bsomeone (?:is )?(?:using|logged into|in) my account\b"
    r"|\b(?:didn'?t|did not|never) (?:make|place|authori[sz]e)\b"
    r"|\bnever (?:shopped|ordered anything|bought anything)\b"
    r"|\bdon'?t recogni[sz]e (?:this|the|a) (?:charge|payment)"
    r"|\bdata (?:leak|breach)|\bleaked\b",
    _I,
)


def fraud_or_security(text: str) -> bool:
    """Charges the customer did not make, a taken-over account, or leaked personal data."""
    return bool(_FRAUD.search(text))


# --- anger, repeated contact, deadlines ---------------------------------------------------------

_ABUSE = re.compile(
    r"\bf+u+c+k|\bf\*+|\bsh[i1*]t\b|\bcrap\b|\bwtf\b|\bbullshit\b|\bdamn\b|\bbloody\b"
    # "your service is a joke", not "tell me a joke"
    r"|\bscam(?:mers?)?\b|\b(?:is|are|was|were|'s|’s)\s+(?:a|such a|an?\s+\S+)\s+joke\b"
    r"|\bwhat a joke\b"
    r"|\brip[- ]?off\b|\bdisgust|\bpathetic\b|\bashamed\b"
    r"|\bthie(?:f|ves)\b|\bcrooks?\b|\bliars?\b|\bincompetent\b|\bidiots?\b|\bfed up\b"
    r"|\bsick (?:and tired )?of\b|\bfurious\b|\blivid\b|\bfrechheit\b|\bestafa\b|\barnaque"
    r"|\b(?:1|one)[- ]star\b|\btell everyone\b|\bsocial media\b",
    _I,
)
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_ADDRESSES = re.compile(r"\S+@\S+|https?://\S+", re.IGNORECASE)
_ACRONYMS = frozenset(
    "ETA SKU VAT GDPR CCPA RGPD DSGVO SMS USB APO FYI ASAP USA PDF LED TV UK EU ID PIN "
    "AMEX BBB DHL UPS USPS UPS DPD GLS EMS BNPL XXL XL XS PM AM".split()
)


def shouting(text: str) -> bool:
    """Words in capitals that are not acronyms: one of 4+ letters, or two of 3+."""
    # an email address typed in capitals is not shouting ("MARY.STEWART@EXAMPLE.NET")
    text = _ADDRESSES.sub(" ", text)
    words = [w for w in _CAPS_WORD.findall(text) if w not in _ACRONYMS]
    return any(len(w) >= 4 for w in words) or len(words) >= 2


def anger(text: str) -> bool:
    """Abuse, insults, threats of public reviews, shouting, or stacked exclamation marks."""
    return bool(_ABUSE.search(text)) or shouting(text) or "!!" in text


_REPEAT = re.compile(
    r"\b(?:asked|written|wrote|emailed|called|phoned|contacted|messaged|chased|complained)"
    r"(?: (?:you|to you|this|for this|about this|you about this))?(?: \w+)?"
    r" (?:twice|two times|three times|\d+ times|several times|multiple times|many times|again)\b"
    r"|\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th) (?:time|message|email|attempt|request)"
    r"|\b(?:last|my) (?:two|three|four|five|\d+|several) (?:emails|messages|calls|chats)\b"
    r"|\b(?:two|three|four|\d+)(?:st|nd|rd|th)? (?:messages|emails|calls) (?:this|in a) week\b",
    _I,
)


def repeated_contact(text: str) -> bool:
    """The customer says this is not the first time they have asked."""
    return bool(_REPEAT.search(text))


_DEADLINE = re.compile(
    r"\burgent(?:ly)?\b|\basap\b|\bimmediately\b|\bright (?:away|now)\b"
    r"|\bneed(?:ed|s)?\b[^.!?]{0,40}\b(?:today|tonight|tomorrow|this week|by (?:mon|tue|wed|thu"
    r"|fri|sat|sun)\w*|by the weekend)\b",
    _I,
)


def deadline(text: str) -> bool:
    """An explicit deadline or "urgent": the customer needs it by a day that is close."""
    return bool(_DEADLINE.search(text))


# --- messages that say nothing yet ---------------------------------------------------------------

_FILLER = frozenset(
    "hi hello hey hiya heya there good morning afternoon evening day ok okay test testing yo "
    "bonjour bonsoir salut hola buenas buenos tardes días dias noches hallo guten tag morgen hoi "
    "ciao buongiorno buonasera salve olá ola oi bom dia tudo bem goedemiddag goedemorgen".split()
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def only_greeting(text: str) -> bool:
    """Nothing but greetings and filler ("hi there", "Hola, buenas tardes", "test")."""
    words = _WORD.findall(text.lower())
    return bool(words) and all(w in _FILLER for w in words)


def gibberish(text: str) -> bool:
    """One long run of letters with almost no vowels ("asdfghjkl", "qwrtzp")."""
    words = _WORD.findall(text.lower())
    if len(words) != 1 or len(words[0]) < 5:
        return False
    vowels = sum(c in "aeiouyàáâäèéêëìíîïòóôöùúûü" for c in words[0])
    return vowels / len(words[0]) < 0.2
