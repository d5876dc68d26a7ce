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

  function send(name, props, referrer, url) {
    var event = {
      site: site, name: name, url: url || w.location.href, referrer: referrer || "", ts: Date.now(), id: id(),
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
    if (last !== null) { engagement(last); depth = told = 0; scrolled(); }
    send("pageview", null, last === null ? d.referrer : last);
    last = href;
  }

  // Extensions, each on with its data- attribute. Engagement reports the visible time and the scroll depth
  // gained since its last report (when the page is hidden, left or replaced), so a page's figures add up per view.
  function on(name) { return script.hasAttribute("data-" + name); }
  var timed = on("engaged-time"), scrolls = on("scroll-depth"), since = 0, engaged = 0, depth = 0, told = 0;
  function watch() {
    var now = Date.now();
    if (since) engaged += now - since;
    since = d.visibilityState === "visible" ? now : 0;
  }
  function scrolled() {
    var height = d.documentElement.scrollHeight;
    depth = Math.max(depth, height ? Math.min(100, Math.round((w.scrollY + w.innerHeight) * 100 / height)) : 100);
  }
  function engagement(url) {
    watch();
    var props = {}, any = 0;
    if (timed && engaged) props.engaged_ms = engaged, any = 1;
    if (scrolls && depth > told) props.scroll = depth - told, any = 1;
    engaged = 0; told = depth;
    if (any) send("engagement", props, "", url);
  }
  if (timed || scrolls) {
    watch(); scrolled();
    d.addEventListener("visibilitychange", function () { d.visibilityState === "hidden" ? engagement() : watch(); });
    // The page is gone (or in the back-forward cache, whence it comes back visible): no time runs until then.
    w.addEventListener("pagehide", function () { engagement(); since = 0; });
    w.addEventListener("scroll", scrolled, { passive: true });
  }
  // A link's host only, or a file's path: never its query, which may carry what a patient typed.
  var files = /\.(pdf|docx?|xlsx?|pptx?|odt|ods|csv|txt|rtf|zip|7z|gz|dmg|exe|msi|apk|mp3|mp4|mov|wav|epub)$/i;
  function clicked(e) {
    var a = e.target.closest && e.target.closest("a[href]"), own = a && a.host === w.location.host;
    if (!a || !/^https?:$/.test(a.protocol) || e.button > 1) return;  // a right-click opens a menu, not the link
    if (on("file-downloads") && files.test(a.pathname)) send("file-download", { file: own ? a.pathname : a.host + a.pathname });
    else if (on("outbound-links") && !own) send("outbound-link", { host: a.hostname });
  }
  d.addEventListener("click", clicked, true);
  d.addEventListener("auxclick", clicked, true);
  // A form's id or name only, never a field: getAttribute, since a field named "id" or "name" shadows form.id.
  if (on("forms")) d.addEventListener("submit", function (e) {
    var form = e.target.getAttribute("id") || e.target.getAttribute("name");
    send("form-submit", form ? { form: form } : null);
  }, true);

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
  // Browsers that expose a page's HTTP status (Chromium, Firefox) tell a 404; elsewhere a 404 page can call
  // sluice.track("404").
  var entry = on("404") && w.performance && w.performance.getEntriesByType("navigation")[0];
  if (entry && entry.responseStatus === 404) send("404");
  if (typeof w.__tcfapi === "function") tcf(); else w.addEventListener("load", tcf);
})(window, document);
