/**
 * `/docs`: a small self-contained reference that reads `/api/v1/openapi.json` and lets you try each
 * operation with a bearer token. No CDN: the hub often runs where the internet link drops.
 * Everything from the document is inserted with textContent, never as HTML.
 */
export const docsHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dovetail hub API</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#222}
h1{font-size:1.4rem}details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.4rem .7rem}
summary{cursor:pointer}code,pre,textarea,input{font:12px ui-monospace,monospace}
.m{display:inline-block;width:4.5rem;font-weight:700}.GET{color:#0a6}.POST{color:#06c}.PUT{color:#a60}.DELETE{color:#c22}
textarea{width:100%;height:7rem}pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:20rem}
</style></head><body>
<h1>Dovetail hub API</h1>
<p>Errors: <code>{"error":{"code","message","details"}}</code>. Get a token from <code>POST /oauth/token</code>
(client_credentials) and paste it here. The same procedures answer at <code>/trpc</code>.
Raw document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<label>Bearer token <input id="token" size="80" autocomplete="off"></label>
<div id="ops">loading…</div>
<script>
const el=(tag,text,cls)=>{const e=document.createElement(tag);if(text!==undefined)e.textContent=text;if(cls)e.className=cls;return e};
fetch('/api/v1/openapi.json').then(r=>r.json()).then(doc=>{
  const root=document.getElementById('ops');root.textContent='';
  for(const [path,item] of Object.entries(doc.paths)){
    const base=item.servers?'':'/api/v1';
    for(const [method,op] of Object.entries(item)){
      if(method==='servers')continue;
      const M=method.toUpperCase();const d=el('details');const s=el('summary');
      s.append(el('span',M,'m '+M),el('code',base+path),document.createTextNode(' — '+(op.summary||'')));d.append(s);
      const params=(op.parameters||[]).map(p=>p.name+' ('+p.in+')').join(', ');if(params)d.append(el('p','Parameters: '+params));
      const url=el('input');url.size=80;url.value=base+path;d.append(el('div','URL'),url);
      let body;if(op.requestBody){body=el('textarea');body.value='{}';d.append(el('div','Body (JSON)'),body)}
      const out=el('pre');const b=el('button','Send');
      b.onclick=async()=>{const h={};const t=document.getElementById('token').value.trim();if(t)h.authorization='Bearer '+t;
        if(body)h['content-type']='application/json';
        const r=await fetch(url.value,{method:M,headers:h,body:body?body.value:undefined});
        out.textContent=r.status+' '+r.statusText+'\\n'+await r.text()};
      d.append(b,out);root.append(d);
    }
  }
}).catch(e=>{document.getElementById('ops').textContent='could not load the document: '+e});
</script></body></html>`;
