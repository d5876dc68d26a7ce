"""The conversions page: campaigns and sources named even when a visit had none, and a funnel that says how
many of those who began reached each step."""

import json
import re


def test_a_funnel_says_what_share_of_the_first_step_reaches_each_step(dashboard):
    app = dashboard("analyst", "app_pages/conversions.py")
    funnel = json.loads(app.get("plotly_chart")[0].proto.spec)
    trace = funnel["data"][0]
    assert funnel["layout"]["xaxis"]["title"]["text"] == "Sessions" and trace["text"][0] == "100%"
    assert all(re.fullmatch(r"\d+%", share) for share in trace["text"])
    campaigns = app.dataframe[0].value["campaign"]
    assert "" not in set(campaigns) and "(none)" in set(campaigns)
