"""Reading delimited text: every line is either a record or a quarantined line, never lost."""

from __future__ import annotations

from transforms.sources.text import decode, read_delimited

HEADER = "id,x,y,date\n"


def test_clean_file_reads_every_row_with_its_row_number() -> None:
    data = (HEADER + "1,14.1,50.1,2025-01-01\n2,14.2,50.2,2025-01-02\n").encode()
    records = read_delimited(data)
    assert records.input_rows == 2
    assert records.frame["id"].tolist() == ["1", "2"]
    assert records.frame["source_row"].tolist() == [1, 2]
    assert records.quarantine.empty


def test_wrong_field_count_is_quarantined_and_the_rest_kept() -> None:
    data = (
        HEADER + "1,14.1,50.1,2025-01-01\n2,14.2,50.2\n3,14.3,50.3,2025-01-03,extra\n"
        "4,14.4,50.4,2025-01-04\n"
    ).encode()
    records = read_delimited(data)
    assert records.frame["id"].tolist() == ["1", "4"]
    assert records.quarantine["source_row"].tolist() == [2, 3]
    assert set(records.quarantine["reason"]) == {"malformed_line"}
    assert records.quarantine["raw"].tolist() == ["2,14.2,50.2", "3,14.3,50.3,2025-01-03,extra"]
    assert records.input_rows == len(records.frame) + len(records.quarantine)


def test_unbalanced_quote_costs_one_line_not_the_rest_of_the_file() -> None:
    data = (HEADER + '1,"14.1,50.1,2025-01-01\n2,14.2,50.2,2025-01-02\n').encode()
    records = read_delimited(data)
    assert records.frame["id"].tolist() == ["2"]
    assert records.quarantine["source_row"].tolist() == [1]


def test_quoted_fields_are_read() -> None:
    data = (HEADER + '1,"14.1","50.1","2025-01-01"\n').encode()
    records = read_delimited(data)
    assert records.frame.iloc[0].tolist()[:4] == ["1", "14.1", "50.1", "2025-01-01"]


def test_windows_1250_is_detected_and_decoded() -> None:
    text = "kod,nazev\n1,Krádež vloupáním\n2,Přestupek\n"
    records = read_delimited(text.encode("cp1250"))
    assert records.encoding == "cp1250"
    assert records.frame["nazev"].tolist() == ["Krádež vloupáním", "Přestupek"]


def test_bom_crlf_and_blank_lines() -> None:
    data = "\ufeffid,x,y,date\r\n1,14.1,50.1,2025-01-01\r\n\r\n2,14.2,50.2,2025-01-02\r\n"
    records = read_delimited(data.encode("utf-8"))
    assert records.header == ["id", "x", "y", "date"]
    assert records.frame["date"].tolist() == ["2025-01-01", "2025-01-02"]
    assert records.input_rows == 2


def test_decode_prefers_utf8() -> None:
    assert decode("Liberec – Jablonec".encode()).encoding == "utf-8"
