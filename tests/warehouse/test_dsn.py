import pytest

from warehouse import DsnError, parse_dsn


def test_embedded_dsn_names_a_path_and_defaults_the_database():
    dsn = parse_dsn("chdb:///var/lib/sluice/warehouse")
    assert (dsn.embedded, dsn.path, dsn.database) == (True, "/var/lib/sluice/warehouse", "sluice")


def test_embedded_dsn_can_choose_its_database():
    assert parse_dsn("chdb:///data/wh?database=analytics").database == "analytics"


def test_server_dsn_defaults_port_and_database_by_scheme():
    http, https = parse_dsn("http://ch.internal"), parse_dsn("https://ch.internal")
    assert (http.host, http.port, http.database, http.embedded) == ("ch.internal", 8123, "sluice", False)
    assert https.port == 8443


def test_server_dsn_carries_user_port_and_database():
    dsn = parse_dsn("http://reader@10.1.2.3:18123/analytics")
    assert (dsn.username, dsn.host, dsn.port, dsn.database) == ("reader", "10.1.2.3", 18123, "analytics")


def test_redacted_dsn_never_shows_a_password():
    dsn = parse_dsn("https://admin:hunter2@ch.internal/sluice")
    assert dsn.password == "hunter2"
    assert "hunter2" not in dsn.redacted()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("postgres://db/sluice", "unsupported"),
        ("chdb://relative/path", "absolute path"),
        ("chdb:///data?db=x", "unknown option"),
        ("http:///sluice", "no host"),
        ("http://host:notaport/db", "invalid port"),
        ("http://host/drop table", "database name"),
    ],
)
def test_unusable_dsns_are_refused_with_the_reason(text, complaint):
    with pytest.raises(DsnError, match=complaint):
        parse_dsn(text)


def test_a_refused_dsn_does_not_echo_its_password():
    with pytest.raises(DsnError) as caught:
        parse_dsn("mysql://admin:hunter2@db/x")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("dsn", ["http://u:p@ss@host:99999/db", "http://u:pa/ss@host/db", "ftp://u:secret@host/db"])
def test_no_error_message_contains_any_part_of_a_password(dsn):
    with pytest.raises(DsnError) as caught:
        parse_dsn(dsn)
    assert not any(part in str(caught.value) for part in ("p@ss", "ss@", "pa/ss", "secret"))


def test_an_embedded_path_with_url_characters_round_trips(tmp_path):
    from warehouse import embedded_dsn

    data_dir = tmp_path / "sluice#2?x%25"
    assert parse_dsn(embedded_dsn(data_dir)).path == str((data_dir / "warehouse").resolve())
