"""What every page shares: times, details and durations as people read them."""

from dashboard.pages import detail, moment


def test_an_audit_entrys_time_reads_to_the_second():
    assert moment("2026-12-02T14:23:49.056133Z") == "2026-12-02 14:23:49"


def test_an_audit_entrys_detail_reads_as_pairs_not_json():
    assert detail('{"parameters":{"from":"2026-11-03","filters":{}},"rows":3,"steps":["/a","b"]}') == \
        "parameters.from: 2026-11-03; rows: 3; steps: /a, b"
    assert detail("not json") == "not json"
