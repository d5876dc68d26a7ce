/* Sluice first-party analytics snippet. No cookies, no dependencies, no third parties. */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  if (!script || w.sluice) return;
  var nav = w.navigator;
  var site = script.getAttribute("data-site") || "default";
  var endpoint = script.getAttribute("data-api") || new URL(script.src).origin + "/collect";
  var last = null;

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

  var push = w.history.pushState;
  w.history.pushState = function () {
    push.apply(this, arguments);
    pageview();
  };
  w.addEventListener("popstate", pageview);
  w.sluice = { track: function (name, props) { send(name, props, d.referrer); } };
  pageview();
})(window, document);
