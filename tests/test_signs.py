"""Warning-sign matching, contacts, the verdict, offer detection and checks kept in memory."""

from __future__ import annotations

import pytest

from bot.knowledge import default_knowledge
from bot.signs import (CHECKS_KEY, CHECK_TTL, LIKELY, MAX_CHECKS, NONE, SOME, check_offer, default_catalogue,
                       find_contacts, forget_check, hold_pasted, is_question, load_catalogue, looks_like_offer, recall_check,
                       pattern_words, remember_check, take_pasted, validate_catalogue, verdict, word_forms)
from bot.textnorm import normalize, verb_stems
from bot.signs import PENDING_KEY, PENDING_TTL


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


def ids(catalogue, text):
    return set(catalogue.sign_ids(text))


# --- the catalogue --------------------------------------------------------------------------

def test_the_catalogue_is_complete_and_grounded():
    assert validate_catalogue(default_knowledge()) == []


def test_signs_come_most_serious_first(catalogue):
    severities = [sign.severity for sign in catalogue.signs]
    assert severities == sorted(severities, reverse=True)
    found = catalogue.sign_ids("WhatsApp me: salary 3000$ in the Russian army, Russian citizenship after a year")
    assert found == ["russian_army", "citizenship", "big_money", "private_contact"]


def test_validate_lists_every_problem(tmp_path):
    (tmp_path / "signs.toml").write_text('''
[[signs]]
id = "broken"
severity = 1
group = "nonsense"
facts = ["no_such_fact", "iraqis_recruited"]
label.en = "Broken"
reason.en = "About 7,000 Iraqis went."
patterns.en = ["re:(unclosed", "* leading star"]

[[signs]]
id = "broken"
severity = "high"
group = "pressure"
facts = []
patterns.en = ["fine"]
patterns.ar = ["جيد"]
''', encoding="utf-8")
    problems = validate_catalogue(default_knowledge(), load_catalogue(tmp_path / "signs.toml"))
    text = "\n".join(problems)
    for expected in ("pattern 're:(unclosed'", "pattern '* leading star'", "group 'nonsense'",
                     "unknown fact 'no_such_fact'", "no patterns in ar", "no label in ar", "no reason in ar",
                     "numbers its facts don't carry: [7000]", "duplicate id", "severity must be an integer",
                     "no facts explain it"):
        assert expected in text, expected


def test_validate_reports_an_unreadable_catalogue(tmp_path):
    (tmp_path / "signs.toml").write_text("[[signs]\n", encoding="utf-8")
    problems = validate_catalogue(default_knowledge(), load_catalogue(tmp_path / "signs.toml"))
    assert len(problems) == 1 and problems[0].startswith("signs.toml:")


# --- matching: normalisation, dialect, typos ---------------------------------------------------

@pytest.mark.parametrize("text, sign", [
    # Arabic written with and without hamza, taa marbuta, alef maqsura, diacritics, tatweel.
    ("عقد مع وزارة الدفاع الروسية", "russian_army"),
    ("عقد مع وزاره الدفاع الروسيه", "russian_army"),
    ("الجَيْش الروسـي", "russian_army"),
    ("الجواز الروسى بعد سنة", "citizenship"),
    # Prefixes and endings: ب و ل ال, pronoun endings.
    ("تطوع بالجيش الروسي", "military_contract"),
    ("شغل بروسيا", "travel_russia"),
    ("وبعدها بتاخذ جنسيتك", "citizenship"),
    # Dialect words for pay, passport, work, come, travel, visa.
    ("المعاش 3000 دولار بالشهر", "big_money"),
    ("مرتب 250 ألف روبل", "big_money"),
    ("المصاري منيحة كتير", "big_money"),
    ("فلوس كتير بعد التوقيع", "big_money"),
    ("تعالوا على روسيا", "travel_russia"),
    ("السفر لموسكو", "travel_russia"),
    ("نطلعلك فيزا سياحية", "tourist_visa"),
    ("السفر بتأشيرة سياحة", "tourist_visa"),
    ("الفيزا والتذكرة علينا", "all_arranged"),
    ("كلشي علينا", "all_arranged"),
    ("ما بدها خبرة", "easy_job"),
    ("مطلوب سواقين", "easy_job"),
    ("عقد ويه الجيش الروسي", "military_contract"),
    ("راسلني خاص تلكرام", "private_contact"),
    ("ابعتلي عالواتس", "private_contact"),
    ("لا تحكي لحدا", "urgency_secrecy"),
    ("قطعة أرض في دونيتسك", "land"),
    ("للقتال على الجبهة", "combat_zone"),
    # English: case, plurals, Arabic-Indic and grouped digits, currency signs.
    ("CONTRACTS WITH THE RUSSIAN ARMY", "military_contract"),
    ("Salary $2,500 monthly", "big_money"),
    ("salary ٣٠٠٠$", "big_money"),
    ("195k ₽ monthly", "big_money"),
])
def test_signs_are_found_across_spellings_and_dialects(catalogue, text, sign):
    assert sign in ids(catalogue, text)


@pytest.mark.parametrize("text, sign", [
    # The army named apart from "Russia", in either order, a dozen words away.
    ("In Russia you will work as a mechanic and later join the armed forces", "russian_army"),
    ("Russia's army needs drivers", "russian_army"),
    ("اللي بدو يسافر على روسيا، الشغل هناك مع الجيش", "russian_army"),
    # Joining, serving, fighters; Arabic verbs under dialect prefixes.
    ("serve one year in the assault units of the Russian volunteer army", "military_contract"),
    ("we are looking for brave fighters", "military_contract"),
    ("sign a contract with the defence ministry on arrival", "military_contract"),
    ("تقدر تلتحق بالقوات الروسية", "military_contract"),
    ("بتنضم لصفوف الجيش بعد شهر", "military_contract"),
    ("يقاتلون في الصفوف الأمامية", "combat_zone"),
    ("the army in Ukraine needs men", "combat_zone"),
    # Residency, a house, pay described rather than stated.
    ("passport of the Russian Federation after a year", "citizenship"),
    ("you become a Russian citizen", "citizenship"),
    ("residency guaranteed for the family", "citizenship"),
    ("الإقامة مضمونة لك ولعائلتك", "citizenship"),
    ("they give you a house", "land"),
    ("الدولة تعطي المتطوع بيت", "land"),
    ("They pay really well", "big_money"),
    ("very high salary for drivers", "big_money"),
    ("الدخل عالي كتير", "big_money"),
    ("القروش كتيرة شديد", "big_money"),
    ("الراتب زين وايد", "big_money"),
    # Arrangements: who pays, verbs of securing and sorting out, a job found on arrival.
    ("tickets and visa at the company's expense", "all_arranged"),
    ("we take care of the visa and the flight", "all_arranged"),
    ("our agent will handle the paperwork", "all_arranged"),
    ("job placement guaranteed", "all_arranged"),
    ("بنأمنلك الفيزا والسكن", "all_arranged"),
    ("هيأمنولك التذاكر", "all_arranged"),
    ("منرتبلك السفر من الألف للياء", "all_arranged"),
    ("بنخلصلك الورق كله", "all_arranged"),
    ("الطيران ببلاش", "all_arranged"),
    # Foreigners: Arabs or Africans wanted, Russian not needed.
    ("Arab youth wanted", "foreigners_welcome"),
    ("jobs for Africans and Arabs", "foreigners_welcome"),
    ("you don't have to speak Russian", "foreigners_welcome"),
    ("Russian language is not required", "foreigners_welcome"),
    ("فرص عمل للعرب", "foreigners_welcome"),
    ("مش لازم تتكلم روسي", "foreigners_welcome"),
    ("بدون أي لغة", "foreigners_welcome"),
    # Easy jobs: experience waived, security companies, loading, cleaning.
    ("no prior experience", "easy_job"),
    ("experience is not required", "easy_job"),
    ("a security company in Moscow", "easy_job"),
    ("ما بيلزمك أي خبرة", "easy_job"),
    ("وظايف أمن", "easy_job"),
    ("تحميل وتنزيل بضائع", "easy_job"),
    # Pressure: don't pass it on, delete it, this week only, the group leaves soon.
    ("please don't forward this", "urgency_secrecy"),
    ("delete it after reading", "urgency_secrecy"),
    ("offer valid today only", "urgency_secrecy"),
    ("the next group leaves on Monday", "urgency_secrecy"),
    ("ولا تنشر الموضوع", "urgency_secrecy"),
    ("امسح المحادثة بعد ما تقرأ", "urgency_secrecy"),
    ("الحجوزات محدودة", "urgency_secrecy"),
    ("العرض لهاد الشهر بس", "urgency_secrecy"),
    ("الفوج الجاي بيسافر بعد يومين", "urgency_secrecy"),
    # Private contact: "in private" after a verb of writing, a +7 number written 007.
    ("تواصل معي عالخاص", "private_contact"),
    ("راسلونا", "private_contact"),
    ("اتصل 007 916 123 4567", "private_contact"),
])
def test_signs_are_found_in_described_and_dialect_forms(catalogue, text, sign):
    assert sign in ids(catalogue, text)


@pytest.mark.parametrize("text, sign", [
    ("jobb in russsia", "travel_russia"),
    ("securty guard", "easy_job"),
    ("no expirience needed", "easy_job"),
    ("pasport after 6 month", "citizenship"),
    ("write me on whatsap", "private_contact"),
    ("we arange evrything", "all_arranged"),
    ("شغل في روسياا", "travel_russia"),
    ("شغل بموسكوو", "travel_russia"),
])
def test_long_words_tolerate_a_typo(catalogue, text, sign):
    assert sign in ids(catalogue, text)


@pytest.mark.parametrize("text, sign", [
    ("contact us with the army of volunteers", "military_contract"),  # contact is not contract
    ("Learn Russian online with a native Russian teacher", "travel_russia"),  # the adjective
    ("no criminal record, crime prevention course", "travel_russia"),  # crime is not Crimea
    ("umrah by bus: بالباص", "private_contact"),  # بالباص is not بالخاص
    ("الجيش العربي الأردني", "foreigners_welcome"),  # العربي is not العرب
    ("lighting technician wanted", "combat_zone"),  # lighting is not fighting
    ("مكافأة نهاية الخدمة حسب القانون", "big_money"),  # end-of-service pay
    ("Tour price 1200$ per person", "big_money"),  # a price, not pay
    ("Tuition 5500 USD per year", "big_money"),
    ("bonuses for top sellers", "big_money"),  # a performance bonus, not a sign-up bonus
    ("bring your passport", "citizenship"),
    ("عرض خاص على الرحلات", "private_contact"),  # "special offer"
    ("القوات المسلحة الأردنية تعلن عن حاجتها", "russian_army"),
    ("Jordanian army veterans club meets in Zarqa", "russian_army"),
    ("معاش منيح ودوام مريح", "big_money"),  # "good pay" is not a promise of large pay
    ("أول حصة ببلاش", "all_arranged"),  # "first lesson free"
    ("free house cleaning for members", "land"),
    ("medicine in Ukraine: Kharkiv university admission", "combat_zone"),
    ("Moscow tour with airport pickup, 900 JD per person", "all_arranged"),  # a package's contents
    ("تأمين صحي للموظفين", "all_arranged"),  # health insurance
    ("قسم الأمن العام", "all_arranged"),
    ("jobs for Jordanians in the Gulf", "foreigners_welcome"),  # one nationality: not "any"
    ("no visa needed for Jordanians", "foreigners_welcome"),
    ("لا يشترط اللغة الإنجليزية", "foreigners_welcome"),
    ("international students: apply online", "foreigners_welcome"),
    ("restaurant hiring kitchen staff", "easy_job"),
    ("خبرة لا تقل عن سنتين", "easy_job"),
    ("سجل الآن عبر التطبيق", "urgency_secrecy"),
    ("book now, 10% off", "urgency_secrecy"),
])
def test_lookalikes_are_not_signs(catalogue, text, sign):
    assert sign not in ids(catalogue, text)


def test_word_forms_strip_arabic_prefixes_and_endings():
    assert {"روسيا"} <= word_forms("وبروسيا")
    assert {"جيش"} <= word_forms("للجيش")
    assert {"راتب"} <= word_forms("راتبك")
    assert {"واتس"} <= word_forms("عالواتس")
    assert {"contract"} <= word_forms("contracts")
    assert word_forms("3000") == {"3000"}


def test_verb_stems_drop_tense_person_and_object_affixes():
    assert "امن" in verb_stems(normalize("بيأمنولك"))  # Levantine: بـ + يـ + أمّن + ـو + ـلك
    assert "امن" in verb_stems(normalize("منأمنلك"))  # Levantine "we", منـ
    assert "امن" in verb_stems(normalize("هيأمنولك"))  # Egyptian future هـ
    assert "خلص" in verb_stems(normalize("بنخلصلك"))
    assert "لتحق" in verb_stems(normalize("تلتحق")) and "لتحق" in verb_stems(normalize("التحق"))
    assert verb_stems(normalize("أمن")) == frozenset()  # the bare noun "security"
    assert "امن" not in verb_stems(normalize("الأمن"))
    assert verb_stems("contract") == frozenset()


def test_a_verb_pattern_matches_the_verb_and_not_the_noun(tmp_path):
    (tmp_path / "signs.toml").write_text('''
[[signs]]
id = "arranged"
severity = 1
group = "arrangement"
patterns.ar = ["~أمن * الفيزا"]
''', encoding="utf-8")
    custom = load_catalogue(tmp_path / "signs.toml")
    assert custom.problems == ()
    assert pattern_words("~أمن * الفيزا") == ("~امن", "*", "فيزا")
    for text in ("بيأمنولك الفيزا", "منأمنلكم الفيزا والتذاكر", "هيأمنوا الفيزا بسرعة"):
        assert custom.sign_ids(text) == ["arranged"], text
    assert custom.sign_ids("قسم الأمن والفيزا") == []


def test_hidden_characters_do_not_break_words(catalogue):
    assert "russian_army" in ids(catalogue, "الجيش\u200f الروسي\u200e")
    assert "russian_army" in ids(catalogue, "Russian\u200b army")


# --- contacts ---------------------------------------------------------------------------------

def test_contacts_are_handles_phones_links_and_emails_in_order():
    text = ("Write @recruit_rus_mod or t.me/contract_ru, WhatsApp +7 915 234-56-78, Amman office "
            "+962 79 555 1234, Baghdad 00964 770 123 4567, site https://jobs-ru.example.com/apply?x=1. "
            "CV to hr.ru@mail.ru")
    assert find_contacts(text) == [
        "@recruit_rus_mod", "t.me/contract_ru", "+79152345678", "+962795551234", "+9647701234567",
        "https://jobs-ru.example.com/apply?x=1", "hr.ru@mail.ru",
    ]


def test_arabic_indic_digits_are_read_as_phone_numbers():
    assert find_contacts("واتساب ٠٧٩١٢٣٤٥٦٧ أو +٩٦٤ ٧٧٠ ١٢٣ ٤٥٦٧ أو ۰۷۸۰۱۲۳۴۵۶۷") == [
        "0791234567", "+9647701234567", "07801234567"]


def test_numbers_that_are_not_phones_are_left_out():
    text = "Salary 1 500 000 rubles, years 2025-2026, age 18-45, 3000$ a month, 250,000 RUB, ٣٠٠٠ دولار"
    assert find_contacts(text) == []


def test_contacts_are_listed_once_with_hidden_links():
    text = "Telegram: @ru_jobs, again @ru_jobs, and https://t.me/ru_jobs"
    assert find_contacts(text, ["https://evil.example.ru/x", "https://t.me/ru_jobs"]) == [
        "@ru_jobs", "https://t.me/ru_jobs", "https://evil.example.ru/x"]


def test_an_email_is_not_a_handle():
    assert find_contacts("jobs@alnoor.jo") == ["jobs@alnoor.jo"]


def test_bare_domains_are_links():
    assert find_contacts("apply at education-in-russia.com or daad.de.") == [
        "education-in-russia.com", "daad.de"]


# --- verdict -----------------------------------------------------------------------------------

@pytest.mark.parametrize("signs, expected", [
    ([], NONE),
    (["private_contact"], SOME),
    (["urgency_secrecy", "private_contact", "easy_job"], SOME),  # an ordinary ad can have these
    (["military_contract"], SOME),  # a national army's enlistment
    (["military_contract", "private_contact"], SOME),
    (["russian_army", "big_money"], LIKELY),
    (["combat_zone", "military_contract"], LIKELY),
    (["travel_russia", "tourist_visa"], SOME),  # a tour of Moscow
    (["travel_russia", "all_arranged", "foreigners_welcome"], SOME),  # a scholarship
    (["travel_russia", "big_money", "all_arranged"], LIKELY),
    (["travel_russia", "tourist_visa", "all_arranged"], LIKELY),  # what Iraqi officials describe
])
def test_verdict(catalogue, signs, expected):
    assert verdict(catalogue, signs) == expected


def test_check_offer_puts_it_together(catalogue):
    result = check_offer(catalogue, "Contract with the Russian army, 3000$ a month. PM me @ru_army_hr")
    assert result.sign_ids == ["russian_army", "military_contract", "big_money", "private_contact"]
    assert result.contacts == ("@ru_army_hr",)
    assert result.verdict == LIKELY


# --- is it an offer? ---------------------------------------------------------------------------

def test_questions_are_recognised():
    assert is_question("Is it true Russia gives citizenship?")
    assert is_question("هل صحيح أن روسيا تعطي الجنسية")
    assert is_question("شو يعني عقد مع الجيش الروسي")
    assert not is_question("Work in Russia, salary 3000$, write @x")


def test_looks_like_offer():
    long_offer = "Work in Moscow for security companies. " * 6
    assert looks_like_offer(long_offer, 1, 0)
    assert looks_like_offer(long_offer, 0, 1)
    assert not looks_like_offer(long_offer, 0, 0)
    assert looks_like_offer("Russian army contract, 3000$", 3, 0)
    assert not looks_like_offer("russian army contract citizenship", 3, 0)  # a keyword query
    assert looks_like_offer("Russian army 3000$ @x", 2, 1)
    assert not looks_like_offer("Russian army salary", 2, 0)
    assert not looks_like_offer("قديش المعاش للمجندين الاجانب بالجيش الروسي", 3, 0)
    assert not looks_like_offer("Does the Russian army pay 3000$ and give citizenship?", 3, 0)
    assert looks_like_offer(long_offer + " What do you think?", 2, 0)


# --- checks kept in memory ------------------------------------------------------------------------

def _remember(memory, now, user="u1"):
    return remember_check(memory, user_key=user, text="offer", signs=["land"], contacts=["@x"],
                          forward_origin_type="hidden_user", forward_origin="Abu Ali", language="ar", now=now)


def test_a_check_is_kept_with_the_keys_the_report_reads():
    memory: dict = {}
    check_id = _remember(memory, 100.0)
    assert 8 <= len(check_id) <= 16 and check_id.isascii()
    assert memory[CHECKS_KEY][check_id] == {
        "user_key": "u1", "text": "offer", "signs": ["land"], "contacts": ["@x"],
        "forward_origin_type": "hidden_user", "forward_origin": "Abu Ali", "language": "ar", "created_at": 100.0}
    assert recall_check(memory, check_id, "u1", now=100.0 + CHECK_TTL - 1)["text"] == "offer"
    assert recall_check(memory, check_id, "someone else", now=101.0) is None


def test_checks_expire_after_an_hour():
    memory: dict = {}
    old = _remember(memory, 0.0)
    assert recall_check(memory, old, now=CHECK_TTL + 1) is None
    _remember(memory, CHECK_TTL + 1)
    assert old not in memory[CHECKS_KEY]


def test_checks_are_capped_oldest_first():
    memory: dict = {}
    first = _remember(memory, 0.0)
    for i in range(MAX_CHECKS):
        _remember(memory, float(i + 1))
    assert len(memory[CHECKS_KEY]) == MAX_CHECKS
    assert first not in memory[CHECKS_KEY]


def test_only_the_owner_can_forget_a_check():
    memory: dict = {}
    check_id = _remember(memory, 0.0)
    assert not forget_check(memory, check_id, "intruder")
    assert forget_check(memory, check_id, "u1")
    assert check_id not in memory[CHECKS_KEY]


def test_a_pasted_text_waits_for_its_own_button_and_not_for_long():
    memory: dict = {}
    old = hold_pasted(memory, "u1", "first", [], now=0.0)
    token = hold_pasted(memory, "u1", "second", ["https://x.ru"], now=1.0)
    assert take_pasted(memory, "u1", old, now=2.0) is None  # replaced by the newer paste
    assert take_pasted(memory, "u2", token, now=2.0) is None  # someone else's
    assert take_pasted(memory, "u1", token, now=2.0)["text"] == "second"
    assert take_pasted(memory, "u1", token, now=3.0) is None  # taken once
    hold_pasted(memory, "u3", "never answered", [], now=10.0)
    hold_pasted(memory, "u4", "later", [], now=10.0 + PENDING_TTL + 1)
    assert set(memory[PENDING_KEY]) == {"u4"}


def test_the_cheap_first_look_never_turns_away_a_text_the_full_check_would_take():
    import tomllib
    from pathlib import Path

    from bot.signs import check_offer, could_be_offer, default_catalogue, looks_like_offer

    eval_dir = Path(__file__).parent / "eval"
    texts = []
    for name in ("questions.toml", "holdout.toml", "offers.toml", "offers_blind.toml"):
        data = tomllib.loads((eval_dir / name).read_text(encoding="utf-8"))
        texts += [item.get("q") or item.get("text") for section in data.values() if isinstance(section, list)
                  for item in section if isinstance(item, dict)]
    texts = [t for t in texts if t]
    assert len(texts) > 700
    for text in texts:
        result = check_offer(default_catalogue(), text)
        if looks_like_offer(text, len(result.signs), len(result.contacts)):
            assert could_be_offer(text), text
