{#- Syndicator embed: news for one subscriber. Vanilla JS; no cookies, no storage, no
    requests but the images. Renders after its own <script> tag, or into the element named
    by the tag's data-target attribute, inside a shadow root so no styles leak either way.
    With link_to = detail_page, `?story=<slug>` on the host page shows that full story, or
    a notice above the list when the subscriber no longer lists it.

    Where: go() runs at once, or at DOMContentLoaded while the page is still loading and
    the target (or, without one, a <body> holding the script) is not there yet. A target
    that cannot host a shadow root (ul, li, td, table...) gets a div inside it, or after it
    where a div is not valid inside (lists, tables, their rows: after the table), once:
    the same code pasted twice shows one widget, as with a target that takes the shadow
    root. No target found: after the script when it is in <body>, else at the end of <body>.

    Written small on purpose (every church's visitors download it): this comment stays in
    the template, and the names are short. D: the data (renderer `_embed`); el(tag, class,
    text) makes an element; html(markup) parses markup built and sanitized by Syndicator,
    never anything from the host page; page(n, focus) shows list page n (from 0) and the
    pager; story(slug) shows one full story and a link back to the list (detail pages only,
    like the notice: other subscribers' scripts carry neither). -#}
(function(){"use strict";
var D = {{ data|js_data }};
var d=document,s=d.currentScript,t=s&&s.getAttribute("data-target"),w=D.w,b;
function go(){var h=t&&d.getElementById(t),p=d.body,r,x,o={mode:"open"},c=":host{display:block!important}"+D.css;
if(!h){h=el("div");p.contains(s)?s.after(h):p.appendChild(h)}
if(h.shadowRoot||!h.attachShadow)return;
try{r=h.attachShadow(o)}catch(e){if(h.$syn)return;h.$syn=x=el("div");if(/^T(R|BODY|HEAD|FOOT)$/.test(h.tagName))h=h.closest("table")||h;
/^([OU]L|DL|MENU|TABLE|SELECT)$/.test(h.tagName)?h.after(x):h.appendChild(x);r=x.attachShadow(o)}
if(r.adoptedStyleSheets&&typeof CSSStyleSheet=="function"){var k=new CSSStyleSheet();k.replaceSync(c);r.adoptedStyleSheets=[k]}
else{var y=el("style");y.textContent=c;r.appendChild(y)}
b=el("div","syn");b.lang=D.lang;r.appendChild(b);
{% if data.stories is not none -%}
var g=new URLSearchParams(location.search).get("story");
if(g&&Object.prototype.hasOwnProperty.call(D.stories,g))story(g);else{page(0,0);if(g){var n=el("p","",w.gone);n.setAttribute("role","status");b.prepend(n)}}}
function story(g){var u=new URL(location.href),a=el("a","",w.back);b.textContent="";add(html(D.stories[g]));
u.searchParams.delete("story");a.href=u.href;add(el("p")).appendChild(a);add(html(D.footer))}
{% else -%}
page(0,0)}
{% endif -%}
function el(g,n,x){var e=d.createElement(g);if(n)e.className=n;if(x)e.textContent=x;return e}
function html(m){var e=el("div");e.innerHTML=m;return e.firstElementChild}
function add(e){b.appendChild(e);return e}
function page(n,f){var p=Math.max(1,Math.ceil(D.items.length/D.per));b.textContent="";
var l=add(html(D.items.length?'<ul class="syn-list syn-list--'+D.layout+'" tabindex="-1">'+D.items.slice(n*D.per,(n+1)*D.per).join("")+"</ul>":D.empty));
if(p>1){var v=add(el("nav","syn-pager")),u=el("span","",w.page_of.replace("{n}",n+1).replace("{count}",p));v.setAttribute("aria-label",w.pages);
v.appendChild(btn(w.previous,n>0,n-1));u.setAttribute("role","status");v.appendChild(u);v.appendChild(btn(w.next,n<p-1,n+1))}
add(html(D.footer));if(f)l.focus()}
function btn(x,on,n){var e=el("button","",x);e.type="button";e.disabled=!on;e.addEventListener("click",function(){page(n,1)});return e}
d.readyState=="loading"&&!(t?d.getElementById(t):d.body&&d.body.contains(s))?d.addEventListener("DOMContentLoaded",go):go()})();
