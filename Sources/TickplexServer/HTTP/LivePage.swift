import Hummingbird
import NIOCore

/// `GET /`: one self-contained page (no build step, no CDN): the node's live counts from `/stats` and a live
/// table of the tickers the visitor picks, fed by `/ws`. Simulated prices are labelled as such.
enum LivePage {
    static func register(on router: Router<some RequestContext>) {
        let body = ByteBuffer(string: html)
        router.get("/") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: body))
        }
    }

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Tickplex — live</title>
        <style>
          :root { --bg:#0f1419; --panel:#171d24; --line:#242d37; --text:#e6edf3; --muted:#8b98a5; --up:#2ecc71;
                  --down:#ff5c5c; --accent:#4aa3ff; --warn:#f5a623; }
          * { box-sizing: border-box; }
          body { margin:0; background:var(--bg); color:var(--text);
                 font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
          header { display:flex; align-items:center; gap:12px; padding:16px 24px; border-bottom:1px solid var(--line); }
          header h1 { font-size:18px; margin:0; letter-spacing:.3px; }
          .badge { font-size:11px; font-weight:600; padding:3px 8px; border-radius:10px; background:var(--line); color:var(--muted); }
          .badge.sim { background:var(--warn); color:#1b1300; }
          .badge.live { background:rgba(46,204,113,.15); color:var(--up); }
          .badge.down { background:rgba(255,92,92,.15); color:var(--down); }
          main { padding:20px 24px; max-width:1200px; }
          .cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(128px, 1fr)); gap:12px; margin-bottom:22px; }
          .card { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
          .card .label { color:var(--muted); font-size:12px; }
          .card .value { font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; margin-top:2px; }
          .upstreams { color:var(--muted); font-size:12px; margin:-8px 0 20px; }
          .upstreams span { margin-right:14px; }
          form { display:flex; gap:8px; margin-bottom:12px; }
          input, select, button { background:var(--panel); color:var(--text); border:1px solid var(--line);
                                  border-radius:6px; padding:7px 10px; font:inherit; }
          input { width:200px; text-transform:uppercase; } input::placeholder { text-transform:none; color:var(--muted); }
          button { cursor:pointer; } button.add { background:var(--accent); border-color:var(--accent); color:#fff; }
          table { width:100%; border-collapse:collapse; background:var(--panel); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
          th, td { text-align:right; padding:9px 12px; border-bottom:1px solid var(--line); font-variant-numeric:tabular-nums; white-space:nowrap; }
          th { color:var(--muted); font-weight:500; font-size:12px; }
          th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align:left; }
          td.price { font-weight:600; font-size:15px; }
          .up { color:var(--up); } .down { color:var(--down); } .muted { color:var(--muted); }
          td .x { background:none; border:none; color:var(--muted); padding:0 4px; }
          .note { color:var(--muted); font-size:12px; margin-top:10px; }
        </style>
        </head>
        <body>
        <header>
          <h1>Tickplex</h1>
          <span id="mode" class="badge">…</span>
          <span id="conn" class="badge">connecting</span>
          <span class="badge" id="version"></span>
        </header>
        <main>
          <div class="cards">
            <div class="card"><div class="label">Clients</div><div class="value" id="clients">–</div></div>
            <div class="card"><div class="label">Streams</div><div class="value" id="streams">–</div></div>
            <div class="card"><div class="label">Subscriptions</div><div class="value" id="subscriptions">–</div></div>
            <div class="card"><div class="label">Messages in /s</div><div class="value" id="inps">–</div></div>
            <div class="card"><div class="label">Messages out /s</div><div class="value" id="outps">–</div></div>
            <div class="card"><div class="label">Conflated</div><div class="value" id="conflated">–</div></div>
            <div class="card"><div class="label">Slow consumers</div><div class="value" id="slow">–</div></div>
            <div class="card"><div class="label">Uptime</div><div class="value" id="uptime">–</div></div>
          </div>
          <div class="upstreams" id="upstreams"></div>
          <form id="add">
            <input id="symbol" placeholder="Symbol, e.g. SOLUSDT" autocomplete="off" required>
            <select id="venue">
              <option>bybit.linear</option><option>bybit.spot</option><option>bybit.inverse</option>
              <option>binance.spot</option><option>binance.usdm</option>
            </select>
            <button class="add" type="submit">Add ticker</button>
          </form>
          <table>
            <thead><tr><th>Symbol</th><th>Venue</th><th>Price</th><th>Bid</th><th>Ask</th><th>24h %</th><th>24h volume</th><th>Updated</th><th></th></tr></thead>
            <tbody id="rows"></tbody>
          </table>
          <div class="note" id="note">Prices are the exchange's own decimal strings, streamed over <code>/ws</code>.</div>
        </main>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        const rows = new Map();   // arg → {tr, cells, last, ts}
        let ws = null;
        const saved = JSON.parse(localStorage.getItem("tickplex.tickers") || "null");
        const wanted = saved || ["ticker:BTCUSDT@bybit.linear", "ticker:ETHUSDT@bybit.linear", "ticker:BTCUSDT@binance.spot"];

        function save() { localStorage.setItem("tickplex.tickers", JSON.stringify([...rows.keys()])); }
        // Stream names are <brand>.<venue>.ticker.<SYMBOL>; the brand is the node's, so match the rest.
        function suffixOf(arg) {
          const m = /^ticker:([A-Z0-9._-]+)@([a-z.]+)$/.exec(arg);
          return m ? `.${m[2]}.ticker.${m[1]}` : null;
        }
        function addRow(arg) {
          if (rows.has(arg)) return;
          const [, symbol, venue] = /^ticker:([^@]+)@(.+)$/.exec(arg);
          const tr = document.createElement("tr");
          tr.dataset.arg = arg;
          tr.innerHTML = `<td>${symbol}</td><td class="muted">${venue}</td><td class="price">–</td><td>–</td><td>–</td>` +
            `<td>–</td><td>–</td><td class="muted age">–</td><td><button class="x" title="Remove">✕</button></td>`;
          tr.querySelector(".x").onclick = () => removeRow(arg);
          $("rows").appendChild(tr);
          rows.set(arg, { tr, cells: tr.children, last: null, ts: 0 });
          if (ws && ws.readyState === 1) ws.send(JSON.stringify({ op: "subscribe", args: [arg] }));
          save();
        }
        function removeRow(arg) {
          const r = rows.get(arg); if (!r) return;
          r.tr.remove(); rows.delete(arg); save();
          if (ws && ws.readyState === 1) ws.send(JSON.stringify({ op: "unsubscribe", args: [arg] }));
        }
        function render(arg, d, ts) {
          const r = rows.get(arg); if (!r) return;
          const c = r.cells;
          const price = d.price ?? "–";
          if (r.last !== null && d.price && d.price !== r.last) {
            c[2].className = "price " + (parseFloat(d.price) > parseFloat(r.last) ? "up" : "down");
          }
          r.last = d.price ?? r.last;
          c[2].textContent = price;
          c[3].textContent = d.bid ? d.bid.price : "–";
          c[4].textContent = d.ask ? d.ask.price : "–";
          const pct = d.change24hPercent;
          c[5].textContent = pct == null ? "–" : (parseFloat(pct) > 0 ? "+" : "") + pct;
          c[5].className = pct == null ? "" : (parseFloat(pct) >= 0 ? "up" : "down");
          c[6].textContent = d.volume24h ?? "–";
          r.ts = Date.now();   // when it reached this page (the exchange's own time is in the message's ts)
        }
        function connect() {
          ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
          ws.onopen = () => {
            $("conn").textContent = "live"; $("conn").className = "badge live";
            if (rows.size) ws.send(JSON.stringify({ op: "subscribe", args: [...rows.keys()] }));
          };
          ws.onclose = () => { $("conn").textContent = "reconnecting"; $("conn").className = "badge down"; setTimeout(connect, 1000); };
          ws.onmessage = (e) => {
            const m = JSON.parse(e.data);
            if (m.stream) {
              for (const arg of rows.keys()) if (m.stream.endsWith(suffixOf(arg))) render(arg, m.data, m.ts);
            } else if (m.op === "subscription_error") {
              const r = rows.get(m.arg);
              if (r) { r.cells[2].textContent = "refused"; r.cells[2].className = "price down"; r.cells[7].textContent = m.reason; }
            } else if (m.op === "subscribe" && m.rejected) {
              for (const rej of m.rejected) { const r = rows.get(rej.arg); if (r) { r.cells[2].textContent = "rejected"; r.cells[7].textContent = rej.reason; } }
            }
          };
        }
        function fmtUptime(s) {
          const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
          return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
        }
        async function stats() {
          try {
            const s = await (await fetch("/stats", { cache: "no-store" })).json();
            $("clients").textContent = s.clients; $("streams").textContent = s.streams;
            $("subscriptions").textContent = s.subscriptions;
            $("inps").textContent = Math.round(s.messages.inPerSecond).toLocaleString();
            $("outps").textContent = Math.round(s.messages.outPerSecond).toLocaleString();
            $("conflated").textContent = s.conflated.toLocaleString();
            $("slow").textContent = s.slowConsumerCloses.toLocaleString();
            $("uptime").textContent = fmtUptime(s.uptimeSeconds);
            $("version").textContent = "v" + s.version + " · " + s.bus + " bus";
            $("mode").textContent = s.simulated ? "SIMULATED PRICES — not real market data" : "exchange data";
            $("mode").className = "badge" + (s.simulated ? " sim" : " live");
            $("upstreams").innerHTML = Object.entries(s.upstreams).filter(([, v]) => v.connections.length)
              .map(([k, v]) => `<span>${k}: ${v.live}/${v.connections.length} live</span>`).join("") || "no upstream connections";
          } catch (e) { $("mode").textContent = "stats unavailable"; }
        }
        setInterval(() => {
          const now = Date.now();
          for (const r of rows.values()) if (r.ts) r.cells[7].textContent = ((now - r.ts) / 1000).toFixed(1) + " s ago";
        }, 500);
        $("add").onsubmit = (e) => {
          e.preventDefault();
          const symbol = $("symbol").value.trim().toUpperCase();
          if (!/^[A-Z0-9._-]{1,40}$/.test(symbol)) return;
          addRow(`ticker:${symbol}@${$("venue").value}`);
          $("symbol").value = "";
        };
        wanted.forEach(addRow);
        stats(); setInterval(stats, 2000);
        connect();
        </script>
        </body>
        </html>
        """#
}
