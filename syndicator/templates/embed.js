/* Syndicator embed: news for one subscriber. Vanilla JS; no cookies, no storage, no
   requests but the images. Renders after its own <script> tag, or into the element named
   by the tag's data-target attribute, inside a shadow root so no styles leak either way. */
(function () {
  "use strict";
  var D = {{ data|tojson }};
  var script = document.currentScript;
  var id = script && script.getAttribute("data-target");
  var host = id ? document.getElementById(id) : null;
  if (!host) {
    host = document.createElement("div");
    if (script && script.parentNode) script.parentNode.insertBefore(host, script.nextSibling);
    else document.body.appendChild(host);
  }
  if (host.shadowRoot || !host.attachShadow) return;
  var root = host.attachShadow({ mode: "open" });
  var css = ":host{display:block}" + D.css;
  if (root.adoptedStyleSheets && typeof CSSStyleSheet === "function") {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = css;
    root.appendChild(style);
  }
  var box = el("div", "syn");
  box.lang = D.lang;
  root.appendChild(box);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function html(markup) {
    var div = el("div");
    div.innerHTML = markup; // built and sanitized by Syndicator, never from the host page
    return div;
  }

  function showPage(n, focus) {
    var pages = Math.max(1, Math.ceil(D.items.length / D.per));
    box.textContent = "";
    var list = html(D.items.length
      ? '<ul class="syn-list syn-list--' + D.layout + '" tabindex="-1">' +
        D.items.slice(n * D.per, (n + 1) * D.per).join("") + "</ul>"
      : D.empty).firstElementChild;
    box.appendChild(list);
    if (pages > 1) box.appendChild(pager(n, pages));
    box.appendChild(html(D.footer).firstElementChild);
    if (focus) list.focus();
  }

  function pager(n, pages) {
    var nav = el("nav", "syn-pager");
    nav.setAttribute("aria-label", D.w.pages);
    nav.appendChild(button(D.w.previous, n > 0, function () { showPage(n - 1, true); }));
    var status = el("span", "", D.w.page_of.replace("{n}", n + 1).replace("{count}", pages));
    status.setAttribute("role", "status");
    nav.appendChild(status);
    nav.appendChild(button(D.w.next, n < pages - 1, function () { showPage(n + 1, true); }));
    return nav;
  }

  function button(label, enabled, action) {
    var b = el("button", "", label);
    b.type = "button";
    b.disabled = !enabled;
    b.addEventListener("click", action);
    return b;
  }

  function showStory(slug) {
    box.textContent = "";
    box.appendChild(html(D.stories[slug]).firstElementChild);
    var back = new URL(location.href);
    back.searchParams.delete("story");
    var p = el("p");
    var a = el("a", "", D.w.back);
    a.href = back.href;
    p.appendChild(a);
    box.appendChild(p);
    box.appendChild(html(D.footer).firstElementChild);
  }

  var story = D.stories ? new URLSearchParams(location.search).get("story") : null;
  if (story && Object.prototype.hasOwnProperty.call(D.stories, story)) showStory(story);
  else showPage(0, false);
})();
