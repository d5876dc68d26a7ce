/* Sluice first-party analytics snippet. No dependencies, no third parties: it talks to its own collector only. */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  if (!script || w.sluice) return;
  var nav = w.navigator;
  var site = script.getAttribute("data-site") || "default";
  var endpoint = script.getAttribute("data-api") || new URL(script.src).origin + "/collect";
  var consentEndpoint = new URL("consent", endpoint.replace(/\/collect$/, "/")).href;
  var last = null, chosen = null;

  function id() {
    return w.crypto && w.crypto.randomUUID ? w.crypto.randomUUID() : Date.now() + "-" + Math.random().toString(36).slice(2);
  }

  function send(name, props, referrer) {
    var event = {
      site: site, name: name, url: w.location.href, referrer: referrer || "", ts: Date.now(), id: id(),
      gpc: nav.globalPrivacyControl === true,
      dnt: nav.doNotTrack === "1" || w.doNotTrack === "1"
    };
    if (props) event.props = props;
    var body = JSON.stringify(event);
    // text/plain keeps the request "simple": no CORS preflight.
    if (nav.sendBeacon && nav.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }))) return;
    w.fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "include",
      headers: { "Content-Type": "text/plain" } })["catch"](function () {});
  }

  function pageview() {
    var href = w.location.href;
    if (href === last) return;
    send("pageview", null, last === null ? d.referrer : last);
    last = href;
  }

  // A choice goes to the collector, which records it and answers with the cookie that remembers it. Without a
  // policy version the collector files it under the site's current one.
  function consent(choice) {
    var body = JSON.stringify({ site: site, analytics: choice.analytics === true, ads: choice.ads === true,
      policy_version: choice.policy_version ? String(choice.policy_version) : undefined,
      source: choice.source || "api" });
    if (body === chosen) return w.Promise.resolve(null);
    return w.fetch(consentEndpoint, { method: "POST", body: body, credentials: "include",
      headers: { "Content-Type": "text/plain" } }).then(function (r) {
      if (!r.ok) throw new Error("the choice was not recorded (" + r.status + ")");
      chosen = body;
      return r.json();
    });
  }

  // Google Consent Mode v2: gtag("consent", "update", {...}) lands in the dataLayer.
  var mode = {};
  function consentMode(entry) {
    if (!entry || entry[0] !== "consent" || entry[1] !== "update" || !entry[2]) return;
    for (var key in entry[2]) mode[key] = entry[2][key] === "granted";
    consent({ analytics: mode.analytics_storage, ads: mode.ad_storage && mode.ad_user_data, source: "consent-mode" })
      ["catch"](function () {});
  }
  var layer = w.dataLayer = w.dataLayer || [];
  for (var i = 0; i < layer.length; i++) consentMode(layer[i]);
  var pushed = layer.push;
  layer.push = function (entry) {
    try { consentMode(entry); } catch (e) { /* never in the way of the page's own tags */ }
    return pushed.apply(layer, arguments);
  };

  // IAB TCF v2 (the consent platforms' __tcfapi): analytics needs purposes 1 and 8, ads 1, 2 and 7.
  function tcf() {
    if (typeof w.__tcfapi !== "function") return;
    w.__tcfapi("addEventListener", 2, function (data, ok) {
      // Where the GDPR does not apply, a platform reports no purposes: that is no one's refusal.
      if (!ok || !data || data.gdprApplies === false || !/^(tcloaded|useractioncomplete)$/.test(data.eventStatus)) return;
      var given = (data.purpose && data.purpose.consents) || {};
      consent({ analytics: !!(given[1] && given[8]), ads: !!(given[1] && given[2] && given[7]), source: "tcf" })
        ["catch"](function () {});
    });
  }

  var push = w.history.pushState;
  w.history.pushState = function () {
    push.apply(this, arguments);
    pageview();
  };
  w.addEventListener("popstate", pageview);
  w.sluice = {
    track: function (name, props) { send(name, props, d.referrer); },
    consent: function (choice) { return consent(choice || {}); }
  };
  pageview();
  if (typeof w.__tcfapi === "function") tcf(); else w.addEventListener("load", tcf);
})(window, document);
