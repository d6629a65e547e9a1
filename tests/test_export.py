"""Export: CSV neutralises formulas and carries a BOM, JSON keeps raw text, no chat ids leak."""

import csv
import io
import json
from datetime import date

import pytest

from bot.db import open_database
from bot.export import (FIELDS, ExportError, export_file, file_name, neutralise, parse_arguments,
                        write_export)

DANGEROUS = ['=HYPERLINK("http://evil.example","click")', "+1", "-2", "@SUM(1)", "\tTAB", "\rCR", "\nLF"]


def add_report(db, n, **fields):
    row = {
        "reference": f"R-{n:06d}", "reporter_key": f"key{n}", "created_at": f"2026-11-{10 + n:02d}T09:00:00+00:00",
        "updated_at": f"2026-11-{10 + n:02d}T09:00:00+00:00", "language": "en", "status": "new",
        "contact_chat_id": 987654321 + n, "contact_ok": 1,
    }
    row.update(fields)
    db["reports"].insert(row)


@pytest.fixture
def db():
    db = open_database(":memory:")
    add_report(db, 1, description='=HYPERLINK("http://evil.example","click")', channel="+1", country="-2",
               recruiter_contact="@SUM(1)", forwarded_text="\tTAB", forward_origin="\rCR",
               offers=json.dumps(["money", "=1+1"]), language="ar")
    add_report(db, 2, description="عرض عمل في روسيا براتب 3000 دولار\nمع جنسية", status="closed",
               attachments=json.dumps([{"kind": "photo", "file_id": "AgACphoto"}, {"kind": "document", "file_id": "BQACdoc"}]),
               contact_ok=0, contact_chat_id=None)
    add_report(db, 3, description="\nLF first", status="in_review", signs=json.dumps(["visa"]))
    return db


def export(db, fmt, **options):
    out = io.BytesIO()
    count = write_export(db, out, fmt, **options)
    return out.getvalue(), count


def csv_rows(data):
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_neutralise_prefixes_an_apostrophe_to_formula_cells():
    assert [neutralise(cell) for cell in DANGEROUS] == ["'" + cell for cell in DANGEROUS]
    assert neutralise("plain text = fine") == "plain text = fine"
    assert neutralise("") == ""


def test_csv_neutralises_every_formula_cell(db):
    data, count = export(db, "csv")
    assert count == 3
    first = csv_rows(data)[0]
    assert first["description"] == '\'=HYPERLINK("http://evil.example","click")'
    assert first["channel"] == "'+1"
    assert first["country"] == "'-2"
    assert first["recruiter_contact"] == "'@SUM(1)"
    assert first["forwarded_text"] == "'\tTAB"
    assert first["forward_origin"] == "'\rCR"
    assert csv_rows(data)[2]["description"] == "'\nLF first"
    # No cell of any row starts with a formula character.
    for row in csv_rows(data):
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r", "\n")), value


def test_csv_starts_with_a_bom_and_keeps_arabic(db):
    data, _ = export(db, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\xef\xbb\xbf") == 1
    second = csv_rows(data)[1]
    assert second["description"] == "عرض عمل في روسيا براتب 3000 دولار\nمع جنسية"
    assert json.loads(second["attachments"]) == [{"kind": "photo", "file_id": "AgACphoto"},
                                                 {"kind": "document", "file_id": "BQACdoc"}]
    assert second["contact_ok"] == "no"
    assert list(csv_rows(data)[0].keys()) == list(FIELDS)


def test_json_is_one_array_with_raw_text(db):
    data, count = export(db, "json")
    records = json.loads(data.decode("utf-8"))
    assert isinstance(records, list) and len(records) == count == 3
    assert records[0]["description"] == '=HYPERLINK("http://evil.example","click")'
    assert records[0]["channel"] == "+1"
    assert records[0]["offers"] == ["money", "=1+1"]
    assert records[0]["forwarded_text"] == "\tTAB"
    assert records[1]["attachments"] == [{"kind": "photo", "file_id": "AgACphoto"},
                                         {"kind": "document", "file_id": "BQACdoc"}]
    assert records[1]["contact_ok"] is False
    assert records[2]["signs"] == ["visa"]
    assert set(records[0]) == set(FIELDS)
    assert "عرض عمل" in data.decode("utf-8")  # not \u-escaped


def test_the_reporter_appears_only_as_a_pseudonym(db):
    for fmt in ("csv", "json"):
        data, _ = export(db, fmt)
        text = data.decode("utf-8-sig")
        assert "contact_chat_id" not in text
        assert "98765432" not in text
        assert "key1" in text


def test_empty_exports_are_well_formed():
    db = open_database(":memory:")
    assert json.loads(export(db, "json")[0]) == []
    assert csv_rows(export(db, "csv")[0]) == []


def test_since_and_status_select_reports(db):
    data, count = export(db, "json", since="2026-11-12")
    assert [r["reference"] for r in json.loads(data)] == ["R-000002", "R-000003"]
    data, count = export(db, "json", status="closed")
    assert [r["reference"] for r in json.loads(data)] == ["R-000002"]
    data, count = export(db, "csv", since="2026-11-12", status="new")
    assert count == 0


@pytest.mark.parametrize("options", [{"since": "2026-13-01"}, {"since": "yesterday"}, {"since": "2026-1-1"},
                                     {"status": "open"}, {"status": "NEW"}])
def test_bad_options_raise_one_line_errors_before_writing(db, options):
    out = io.BytesIO()
    with pytest.raises(ExportError) as error:
        write_export(db, out, "csv", **options)
    assert out.getvalue() == b""
    assert "\n" not in str(error.value)


def test_bad_format_is_refused(db):
    with pytest.raises(ExportError):
        write_export(db, io.BytesIO(), "xlsx")


def test_the_output_stream_stays_open(db):
    out = io.BytesIO()
    write_export(db, out, "csv")
    out.write(b"more")
    assert not out.closed


def test_export_file_reads_read_only_and_matches_the_stream(tmp_path):
    path = tmp_path / "bot.db"
    db = open_database(path)
    add_report(db, 1, description="=1+2")
    for fmt in ("csv", "json"):
        dest = tmp_path / f"out.{fmt}"
        assert export_file(path, dest, fmt) == 1
        assert dest.read_bytes() == export(db, fmt)[0]


def test_file_names_carry_no_personal_data():
    assert file_name("csv", date(2026, 11, 23)) == "reports-2026-11-23.csv"
    assert file_name("json", date(2026, 11, 23), "2026-11-01", "new") == "reports-2026-11-23-new-since-2026-11-01.json"


def test_parse_arguments():
    assert parse_arguments([]) == ("csv", None, None)
    assert parse_arguments(["json", "since", "2026-11-01", "status", "closed"]) == ("json", "2026-11-01", "closed")
    assert parse_arguments(["status", "IN_REVIEW"]) == ("csv", None, "in_review")
    for bad in (["pdf"], ["since"], ["since", "soon"], ["status", "open"]):
        with pytest.raises(ExportError):
            parse_arguments(bad)
