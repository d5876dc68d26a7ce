/* Sluice's optional consent banner. First-party only: its text comes from the collector, and a choice is
   recorded through the snippet (t.js, included before this file) with sluice.consent. */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  if (!script || d.getElementById("sluice-consent")) return;
  var site = script.getAttribute("data-site") || "default";
  var api = script.getAttribute("data-api");
  var base = api ? api.replace(/\/collect$/, "") : new URL(script.src).origin;
  // Global Privacy Control asks sites not to share data with others: advertising measurement starts unticked.
  var gpc = w.navigator.globalPrivacyControl === true;

  var css = "#sluice-consent{position:fixed;left:1rem;right:1rem;bottom:1rem;max-width:40rem;margin:0 auto;" +
    "padding:1rem 1.25rem;background:#fff;color:#1a1a1a;border:2px solid #1a1a1a;border-radius:.5rem;" +
    "font:16px/1.5 system-ui,sans-serif;z-index:2147483647}" +
    "#sluice-consent h2{font-size:1.125rem;margin:0 0 .5rem}#sluice-consent p{margin:0 0 .75rem}" +
    "#sluice-consent label{display:block;margin:.25rem 0}#sluice-consent a{color:#0b4fa3}" +
    "#sluice-consent button{font:inherit;margin:.75rem .5rem 0 0;padding:.5rem 1rem;border-radius:.25rem;" +
    "border:2px solid #0b4fa3;background:#fff;color:#0b4fa3;cursor:pointer}" +
    "#sluice-consent button.primary{background:#0b4fa3;color:#fff}" +
    "#sluice-consent :focus-visible{outline:3px solid #b35900;outline-offset:2px}";

  function element(tag, attributes, text) {
    var node = d.createElement(tag);
    for (var name in attributes) node.setAttribute(name, attributes[name]);
    if (text) node.textContent = text;  // text, never markup: the configured wording cannot inject a page
    return node;
  }

  function choice(id, label) {
    var row = element("label", {}), box = element("input", { type: "checkbox", id: id });
    row.appendChild(box);
    row.appendChild(d.createTextNode(" " + label));
    return { row: row, box: box };
  }

  function show(banner) {
    var style = element("style", {}, css);
    var box = element("div", { id: "sluice-consent", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "sluice-consent-title", "aria-describedby": "sluice-consent-text" });
    box.appendChild(element("h2", { id: "sluice-consent-title" }, banner.title));
    var text = element("p", { id: "sluice-consent-text" }, banner.text);
    if (banner.policy_url) {
      text.appendChild(d.createTextNode(" "));
      text.appendChild(element("a", { href: banner.policy_url }, "Privacy policy"));
    }
    box.appendChild(text);
    var analytics = choice("sluice-consent-analytics", "Analytics on our own servers");
    var ads = choice("sluice-consent-ads", "Campaign totals for advertising platforms");
    box.appendChild(analytics.row);
    box.appendChild(ads.row);
    if (gpc) {
      box.appendChild(element("p", { id: "sluice-consent-gpc" }, "Your browser asks sites not to share your data " +
        "(Global Privacy Control), so accepting leaves advertising off unless you tick it."));
      box.setAttribute("aria-describedby", "sluice-consent-text sluice-consent-gpc");
    }
    var status = element("p", { role: "status" });
    function record(withAnalytics, withAds) {
      if (!w.sluice || !w.sluice.consent) {  // without the snippet there is nowhere to record a choice
        status.textContent = "Your choice could not be saved: this page does not load t.js.";
        return;
      }
      w.sluice.consent({ analytics: withAnalytics, ads: withAds, policy_version: banner.policy_version,
        source: "banner" }).then(function () { box.remove(); style.remove(); }, function () {
        status.textContent = "Your choice could not be saved. Please try again.";  // the banner stays
      });
    }
    var buttons = [
      ["Accept all", "primary", function () { record(true, !gpc || ads.box.checked); }],
      ["Reject all", "", function () { record(false, false); }],
      ["Save choices", "", function () { record(analytics.box.checked, ads.box.checked); }]
    ];
    buttons.forEach(function (spec) {
      var button = element("button", { type: "button", "class": spec[1] }, spec[0]);
      button.addEventListener("click", spec[2]);
      box.appendChild(button);
    });
    box.appendChild(status);
    d.head.appendChild(style);
    d.body.appendChild(box);
    box.querySelector("button").focus();
  }

  w.fetch(base + "/consent?site=" + encodeURIComponent(site), { credentials: "include" })
    .then(function (response) { return response.json(); })
    .then(function (state) {
      // A choice already on record under this policy version is not asked for again.
      if (state.source !== "recorded" || state.policy_version !== state.banner.policy_version) show(state.banner);
    })["catch"](function () {});
})(window, document);
