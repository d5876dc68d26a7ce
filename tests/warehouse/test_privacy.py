"""The privacy rules: one masking of paths, in Python and in SQL alike, and cells no spreadsheet runs."""

from hypothesis import HealthCheck, given, settings, strategies as st

from warehouse.privacy import masked_path, masked_path_sql, spreadsheet_cell

SEGMENTS = st.sampled_from(["patients", "results", "4711234", "1234", "a1b2c3d4e5f60718293a", "knee", "ab-cd",
                            "0f8fad5b-d9cb-469f-a165-70867728950e", "", "x99999y", "ABCDEF0123456789FF"])


def test_a_record_number_in_a_path_reads_as_a_star():
    assert masked_path("/patients/4711234/results") == "/patients/*/results"
    assert masked_path("/services/knee-surgery") == "/services/knee-surgery"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(SEGMENTS, min_size=1, max_size=6))
def test_reports_that_mask_in_sql_mask_exactly_as_python_does(warehouse, segments):
    path = "/" + "/".join(segments)
    in_sql = warehouse.client.query(f"SELECT {masked_path_sql('{path:String}')}", parameters={"path": path})
    assert in_sql.result_rows[0][0] == masked_path(path)


def test_a_cell_a_spreadsheet_would_run_is_quoted_and_others_are_kept():
    assert [spreadsheet_cell(v) for v in ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "knee", 5, "-"]] == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\tx", "'\rx", "knee", 5, "'-"]
