{#- Syndicator embed: news for one subscriber. Vanilla JS; no cookies, no storage, no
    requests but the images. Renders after its own <script> tag, or into the element named
    by the tag's data-target attribute, inside a shadow root so no styles leak either way.
    With link_to = detail_page, `?story=<slug>` on the host page shows that full story.

    Written small on purpose (every church's visitors download it): this comment stays in
    the template, and the names are short. D: the data (renderer `_embed`); el(tag, class,
    text) makes an element; html(markup) parses markup built and sanitized by Syndicator,
    never anything from the host page; page(n, focus) shows list page n (from 0) and the
    pager; story(slug) shows one full story and a link back to the list. -#}
(function(){"use strict";
var D = {{ data|js_data }};
var d=document,s=d.currentScript,t=s&&s.getAttribute("data-target"),h=t?d.getElementById(t):null,w=D.w;
if(!h){h=d.createElement("div");if(s&&s.parentNode)s.parentNode.insertBefore(h,s.nextSibling);else d.body.appendChild(h)}
if(h.shadowRoot||!h.attachShadow)return;
var r=h.attachShadow({mode:"open"}),c=":host{display:block!important}"+D.css;
if(r.adoptedStyleSheets&&typeof CSSStyleSheet=="function"){var k=new CSSStyleSheet();k.replaceSync(c);r.adoptedStyleSheets=[k]}
else{var y=d.createElement("style");y.textContent=c;r.appendChild(y)}
var b=el("div","syn");b.lang=D.lang;r.appendChild(b);
function el(g,n,x){var e=d.createElement(g);if(n)e.className=n;if(x)e.textContent=x;return e}
function html(m){var e=el("div");e.innerHTML=m;return e.firstElementChild}
function add(e){b.appendChild(e);return e}
function page(n,f){var p=Math.max(1,Math.ceil(D.items.length/D.per));b.textContent="";
var l=add(html(D.items.length?'<ul class="syn-list syn-list--'+D.layout+'" tabindex="-1">'+D.items.slice(n*D.per,(n+1)*D.per).join("")+"</ul>":D.empty));
if(p>1){var v=add(el("nav","syn-pager")),u=el("span","",w.page_of.replace("{n}",n+1).replace("{count}",p));v.setAttribute("aria-label",w.pages);
v.appendChild(btn(w.previous,n>0,n-1));u.setAttribute("role","status");v.appendChild(u);v.appendChild(btn(w.next,n<p-1,n+1))}
add(html(D.footer));if(f)l.focus()}
function btn(x,on,n){var e=el("button","",x);e.type="button";e.disabled=!on;e.addEventListener("click",function(){page(n,1)});return e}
function story(g){var u=new URL(location.href),a=el("a","",w.back);b.textContent="";add(html(D.stories[g]));
u.searchParams.delete("story");a.href=u.href;add(el("p")).appendChild(a);add(html(D.footer))}
var g=D.stories&&new URLSearchParams(location.search).get("story");
if(g&&Object.prototype.hasOwnProperty.call(D.stories,g))story(g);else page(0,0)})();
