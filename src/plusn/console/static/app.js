// The plusn console: one page, no build step. It calls the gateway's own API with the key the
// user signs in with (kept in sessionStorage: this tab only). Text from the server is always set
// with textContent, never parsed as HTML; the arena report runs in a sandboxed iframe.

const $ = (id) => document.getElementById(id);
const KEY = "plusn.key";
const state = { key: sessionStorage.getItem(KEY) || "", me: null, models: [], history: [], session: null };

// Chinese for the console's own words (model names, routes and data stay as they are). The
// language follows the browser's until the header button picks one, remembered on this device.
const ZH = {
  "Skip to content": "跳到正文", "Sections": "栏目", "Playground": "对话试验场", "Dashboard": "仪表盘",
  "Knowledge": "知识库", "Catalogue": "目录", "Keys & usage": "密钥与用量", "Arena": "竞技场", "Sign out": "退出",
  "Sign in": "登录", "API key": "API 密钥", "Use an API key (": "使用 API 密钥（",
  ") or the admin key. It is kept in this tab only.": "）或管理员密钥登录。密钥只保存在当前标签页中。",
  "Model or route": "模型或路由", "New conversation": "新对话", "Message": "消息", "Send": "发送",
  "Ask something. Enter sends, Shift+Enter starts a new line.": "请输入问题。Enter 发送，Shift+Enter 换行。",
  "Period": "时间范围", "last 24 hours": "最近 24 小时", "last 7 days": "最近 7 天", "last 30 days": "最近 30 天",
  "Refresh": "刷新", "Over time": "随时间变化", "By route": "按路由", "Safety events": "安全事件",
  "Knowledge bases": "知识库", "Knowledge base": "知识库", "Search": "检索", "Search, e.g. 公积金 提取": "检索，例如：公积金 提取",
  "Add documents (txt, md, html, pdf, docx)": "添加文档（txt、md、html、pdf、docx）", "Upload": "上传",
  "Keys and usage": "密钥与用量", "Runs of ": "", ", newest first.": " 的运行记录，最新的在前。",
  "Requests": "请求数", "Cost": "费用", "Saved": "节省", "Latency p50": "延迟 p50", "Escalation rate": "升级率", "Cache hits": "缓存命中",
  "From": "起始", "Errors": "错误", "Saved %": "节省比例", "Route": "路由", "Escalated": "已升级", "Stage": "阶段",
  "Category": "类别", "Action": "处理", "Events": "次数", "Documents": "文档", "Chunks": "片段", "Fusion": "融合",
  "Description": "说明", "Id": "标识", "Type": "类型", "Endpoints": "接口", "Price in/out per 1k": "每千 token 输入/输出价格",
  "Skill": "技能", "Version": "版本", "Target": "目标", "Key": "密钥", "Prefix": "前缀", "Team": "团队", "Models": "模型",
  "Limits": "限额", "Status": "状态", "Caller": "调用方", "Tokens in": "输入 token", "Tokens out": "输出 token",
  "Suite": "评测集", "When": "时间", "Tasks": "任务数", "Best quality": "最高质量", "Frontier": "前沿",
  "Open report": "打开报告", "How it was routed": "路由过程", "No traffic yet.": "暂无流量。",
  "No safety decisions in this period.": "这段时间没有安全决策。", "No skills.": "没有技能。",
  "No knowledge bases configured (see docs/knowledge.md).": "尚未配置知识库（见 docs/knowledge.md）。",
  "Models, routes and agents": "模型、路由与智能体", "Skills": "技能", "Usage by caller": "按调用方统计的用量",
  "all traffic": "全部流量", "your key's traffic": "本密钥的流量",
  "Rated": "已评价", "Score": "评分", "Agreement": "一致率", "Route versions": "路由版本", "Serve this version": "启用此版本",
  "Version": "版本", "Fitted on": "拟合数据", "Was this answer good?": "这个回答好吗？", "Good answer": "好的回答", "Bad answer": "不好的回答", "Thanks": "谢谢反馈",
};
let lang = localStorage.getItem("plusn.lang") || ((navigator.language || "").startsWith("zh") ? "zh" : "en");
const tr = (text) => (lang === "zh" && ZH[text] !== undefined ? ZH[text] : text);
const say = (en, zh) => (lang === "zh" ? zh : en);  // a sentence with figures in it, in both languages
const originals = new Map();

function translatePage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest("[data-dynamic]")) continue;  // the views fill these, through tr()
    if (!originals.has(n)) originals.set(n, n.nodeValue);
    const en = originals.get(n);
    const key = en.trim();
    if (key && ZH[key] !== undefined) n.nodeValue = lang === "zh" ? en.replace(key, ZH[key]) : en;
  }
  for (const el of document.querySelectorAll("[placeholder], nav[aria-label]")) {
    for (const attr of ["placeholder", "aria-label"]) {
      if (!el.hasAttribute(attr)) continue;
      const store = attr === "placeholder" ? "enPlaceholder" : "enLabel";  // the English, kept for switching back
      if (!el.dataset[store]) el.dataset[store] = el.getAttribute(attr);
      el.setAttribute(attr, tr(el.dataset[store]));
    }
  }
  $("lang").textContent = lang === "zh" ? "English" : "中文";
  $("lang").setAttribute("lang", lang === "zh" ? "en" : "zh-CN");
}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = {};
  if (state.key) headers.authorization = `Bearer ${state.key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    let message = `${r.status} ${r.statusText}`;
    try { message = (await r.json()).error.message || message; } catch { /* not an error envelope */ }
    throw new ApiError(r.status, message);
  }
  return raw ? r : r.json();
}

// Four significant digits, trailing zeros after the point dropped (never those of 1000).
const money = (v) => (v ? Number(Number(v).toPrecision(4)).toLocaleString("en", { maximumFractionDigits: 12, useGrouping: false }) : "0");
const int = (v) => Number(v || 0).toLocaleString("en");
const pct = (v) => `${(100 * Number(v || 0)).toFixed(1)}%`;

function table(head, rows, numeric = []) {
  return h("table", {},
    h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { scope: "col", class: numeric.includes(i) ? "num" : null }, tr(c))))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { class: numeric.includes(i) ? "num" : null }, c))))));
}

// ---- sign-in and navigation ----

async function signIn(key) {
  state.key = key;
  const me = await api("/v1/console/me");
  sessionStorage.setItem(KEY, key);
  state.me = me;
  $("who").textContent = `${me.name}${me.admin ? " (admin)" : ""}`;
  $("signout").hidden = false;
  $("signin").hidden = true;
  await loadModels();
  route();
}

function signOut() {
  sessionStorage.removeItem(KEY);
  state.key = ""; state.me = null;
  $("who").textContent = ""; $("signout").hidden = true;
  showSignIn();
}

function showSignIn(message = "") {
  document.querySelectorAll(".view").forEach((v) => { v.hidden = true; });
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("key").focus();
}

const VIEWS = { chat: showChat, dashboard: showDashboard, knowledge: showKnowledge, catalogue: showCatalogue,
  keys: showKeys, arena: showArena };

function route(ev) {
  if (!state.me) return;
  // Only "#/view" addresses are views; the skip link's "#main" must not navigate away.
  if (location.hash && !location.hash.startsWith("#/")) return;
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || "chat";
  const view = VIEWS[name] ? name : "chat";
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== `view-${view}`; });
  document.querySelectorAll("nav a").forEach((a) => {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  VIEWS[view]().catch(report);
  if (ev && view !== "chat") {  // a navigation: say where we are to screen readers and keyboards
    const heading = document.querySelector(`#view-${view} h1`);
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

function report(err) {
  if (err instanceof ApiError && err.status === 401) { signOut(); showSignIn(err.message); return; }
  const where = document.querySelector(".view:not([hidden])") || $("main");
  const old = where.querySelector(".error.banner");
  if (old) old.remove();
  where.prepend(h("p", { class: "error banner", role: "alert" }, err.message || String(err)));
}

async function loadModels() {
  state.models = (await api("/v1/models")).data;
  const select = $("chat-model");
  select.replaceChildren();
  const groups = { Routes: [], Skills: [], Agents: [], Models: [] };
  for (const m of state.models) {
    if (m.plusn && m.plusn.endpoints && !m.plusn.endpoints.some((e) => e === "chat" || e === "completion")) continue;
    const id = m.id;
    const group = id.startsWith("skill:") ? "Skills" : id.startsWith("agent:") ? "Agents"
      : (id === "auto" || id.includes(":")) ? "Routes" : "Models";
    groups[group].push(m);
  }
  for (const [label, items] of Object.entries(groups)) {
    if (!items.length) continue;
    select.append(h("optgroup", { label }, items.map((m) => h("option", { value: m.id }, m.id))));
  }
  if (state.models.some((m) => m.id === "auto")) select.value = "auto";
}

// ---- playground ----

async function showChat() { $("chat-input").focus(); }

function newConversation() {
  state.history = [];
  state.session = `console-${crypto.getRandomValues(new Uint32Array(2)).join("")}`;
  $("chat-log").replaceChildren();
  $("chat-input").focus();
}

function metaTags(block, usage) {
  const tags = [];
  if (!block) return tags;
  const r = block.route || {};
  const routeName = r.route || r.cascade || r.router || r.target;
  if (routeName) tags.push(h("span", { class: "tag", "data-kind": "route" }, `route: ${routeName}`));
  if (Array.isArray(r.stages) && r.stages.length)
    tags.push(h("span", { class: "tag", "data-kind": "stages" }, `by: ${r.stages.map((s) => s.stage).join(" → ")}`));
  if (block.served_models && block.served_models.length)
    tags.push(h("span", { class: "tag", "data-kind": "model" }, `model: ${block.served_models.join(", ")}`));
  if (r.escalations) tags.push(h("span", { class: "tag warn", "data-kind": "escalations" }, `escalated ×${r.escalations}`));
  if (r.reason) tags.push(h("span", { class: "tag" }, `why: ${r.reason}`));
  for (const s of block.safety || [])
    tags.push(h("span", { class: "tag warn", "data-kind": "safety" }, `safety: ${s.category} (${s.action})`));
  tags.push(h("span", { class: "tag", "data-kind": "cost" }, `cost: ${money(block.cost)}`));
  if (usage) tags.push(h("span", { class: "tag" }, `tokens: ${usage.prompt_tokens}→${usage.completion_tokens}`));
  return tags;
}

// The route block read aloud: each dispatch stage with its reason, each cascade stage with the
// models' final answers and the verifier's verdict.
function routeDetails(block) {
  const r = (block && block.route) || {};
  const lines = [];
  // Through auto, `stages` are the dispatcher's and a cascade's own are `cascade_stages`;
  // a cascade called by name has only its own, as `stages`.
  for (const st of r.dispatcher && Array.isArray(r.stages) ? r.stages : []) {
    const what = st.stage === "intent" ? `intent ${st.intent} (p=${st.probability})` : st.rule ? `rule ${st.rule}` : st.stage;
    lines.push(`${what}${st.reason ? `: ${st.reason}` : ""}`);
  }
  const cascade = r.cascade_stages || (!r.dispatcher && r.cascade ? r.stages : null) || [];
  for (const st of cascade) {
    lines.push(`cascade stage ${st.stage}: ${(st.models || []).join(", ")} answered ${(st.answers || []).join(" / ")}`
      + ` → ${st.accepted ? "accepted" : "escalated"}${st.verdict ? ` (${st.verdict})` : ""}`);
  }
  if (!lines.length) return null;
  return h("details", { class: "route-details" }, h("summary", {}, tr("How it was routed")),
    h("ol", {}, lines.map((l) => h("li", {}, l))));
}

function citations(block) {
  const cites = (block && block.citations) || [];
  if (!cites.length) return null;
  return h("ol", { class: "cites", "aria-label": "Citations" }, cites.map((c) =>
    h("li", {}, `${c.title || c.document || c.source || ""}${c.snippet ? `: ${c.snippet.slice(0, 160)}` : ""}`)));
}

// Thumbs up and down on an answer: POST /v1/feedback, which keeps the verdict beside the
// request's ledger row for learning (docs/learning.md). One verdict per answer; a second click
// replaces it.
function thumbs(requestId) {
  const group = h("span", { class: "thumbs", role: "group", "aria-label": tr("Was this answer good?") });
  const status = h("span", { class: "thumbs-status", "aria-live": "polite" });
  for (const [label, icon] of [["good", "👍"], ["bad", "👎"]]) {
    const b = h("button", { type: "button", class: "thumb", "data-label": label, "aria-pressed": "false",
      "aria-label": tr(label === "good" ? "Good answer" : "Bad answer") }, icon);
    b.addEventListener("click", async () => {
      const headers = { "content-type": "application/json" };
      if (state.key) headers.authorization = `Bearer ${state.key}`;
      const r = await fetch("/v1/feedback", { method: "POST", headers,
        body: JSON.stringify({ request_id: requestId, label }) });
      for (const other of group.querySelectorAll(".thumb")) other.setAttribute("aria-pressed", String(other === b && r.ok));
      status.textContent = r.ok ? tr("Thanks") : `${r.status}`;
    });
    group.append(b);
  }
  group.append(status);
  return group;
}

async function* sse(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        yield JSON.parse(data);
      }
    }
  }
}

async function send(ev) {
  ev.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text) return;
  if (!state.session) newConversation();
  const model = $("chat-model").value;
  const info = state.models.find((m) => m.id === model);
  const base = info && info.plusn && info.plusn.base_model;
  input.value = "";
  const log = $("chat-log");
  log.append(h("li", { class: "msg user" }, h("span", { class: "role" }, "You"), text));
  const body = h("span", { class: "text" });
  const meta = h("div", { class: "meta" });
  const item = h("li", { class: "msg assistant", "aria-busy": "true" }, h("span", { class: "role" }, model), body, meta);
  log.append(item);
  $("chat-send").disabled = true;
  state.history.push({ role: "user", content: text });
  const payload = base
    ? { model, prompt: text, stream: true, max_tokens: 256, stream_options: { include_usage: true } }
    : { model, messages: state.history, stream: true, stream_options: { include_usage: true } };
  let answer = "";
  try {
    const headers = { "content-type": "application/json", "x-plusn-session": state.session };
    if (state.key) headers.authorization = `Bearer ${state.key}`;
    const r = await fetch(base ? "/v1/completions" : "/v1/chat/completions",
      { method: "POST", headers, body: JSON.stringify(payload) });
    if (!r.ok) {
      let message = `${r.status}`;
      try { message = (await r.json()).error.message; } catch { /* not JSON */ }
      throw new ApiError(r.status, message);
    }
    let block = null; let usage = null; let finish = null;
    for await (const chunk of sse(r)) {
      if (chunk.error) throw new Error(chunk.error.message);
      for (const c of chunk.choices || []) {
        const piece = c.delta ? c.delta.content : c.text;
        if (piece) { answer += piece; body.textContent = answer; }
        if (c.finish_reason) finish = c.finish_reason;
      }
      if (chunk.plusn) block = chunk.plusn;
      if (chunk.usage) usage = chunk.usage;
    }
    meta.replaceChildren(...metaTags(block, usage));
    if (finish && finish !== "stop") meta.append(h("span", { class: "tag warn" }, `finish: ${finish}`));
    const cites = citations(block);
    if (cites) item.append(cites);
    const how = routeDetails(block);
    if (how) item.append(how);
    if (block && block.request_id) meta.append(thumbs(block.request_id));
    state.history.push({ role: "assistant", content: answer });
  } catch (err) {
    state.history.pop();
    item.append(h("p", { class: "error", role: "alert" }, err.message));
    if (err instanceof ApiError && err.status === 401) signOut();
  } finally {
    item.removeAttribute("aria-busy");
    $("chat-send").disabled = false;
    input.focus();
  }
}

// ---- dashboard ----

function barChart(series, bucket) {
  const w = 720; const hgt = 200; const pad = 36;
  const max = Math.max(1, ...series.map((s) => s.requests));
  const bw = Math.min(48, Math.max(4, (w - 2 * pad) / Math.max(series.length, 1) - 4));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("width", "100%");
  svg.setAttribute("role", "img");
  const label = series.map((s) => `${new Date(s.t * 1000).toISOString().slice(0, bucket < 86400 ? 13 : 10)}: ${s.requests}`);
  svg.setAttribute("aria-label", `Requests over time. ${label.join("; ")}`);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.append(el); return el;
  };
  add("line", { x1: pad, x2: w - pad, y1: hgt - pad, y2: hgt - pad, stroke: "#d0d7de" });
  add("text", { x: pad - 6, y: pad, "text-anchor": "end" }, String(max));
  series.forEach((s, i) => {
    const x = pad + i * (bw + 4);
    const bh = ((hgt - 2 * pad) * s.requests) / max;
    const rect = add("rect", { x, y: hgt - pad - bh, width: bw, height: bh, fill: "#0969da" });
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${label[i]} requests, cost ${money(s.cost)}, saved ${money(s.saved)}`;
    rect.append(title);
  });
  if (series.length) {
    const first = new Date(series[0].t * 1000).toISOString().slice(0, 16).replace("T", " ");
    add("text", { x: pad, y: hgt - 12 }, first);
  }
  return svg;
}

async function showDashboard() {
  const days = $("dash-days").value;
  const d = await api(`/v1/console/dashboard?days=${days}`);
  const t = d.total;
  $("dash-scope").textContent = tr(d.scope === "key" ? "your key's traffic" : "all traffic");
  const card = (name, value, note, id) => h("div", { class: "card", "data-figure": id },
    h("span", { class: "muted" }, tr(name)), h("span", { class: "value" }, value), note ? h("span", { class: "muted" }, note) : null);
  $("dash-cards").replaceChildren(
    card("Requests", int(t.requests), say(`${int(t.errors)} errors`, `${int(t.errors)} 个错误`), "requests"),
    card("Cost", money(t.cost), say(`${int(t.tokens_in)} in / ${int(t.tokens_out)} out tokens`,
      `输入 ${int(t.tokens_in)} / 输出 ${int(t.tokens_out)} token`), "cost"),
    card("Saved", money(t.saved), say(`${t.saved_pct}% against the largest model`, `相对最大模型节省 ${t.saved_pct}%`), "saved"),
    card("Latency p50", d.latency_ms.p50 === null ? "–" : `${d.latency_ms.p50} ms`,
      `p95 ${d.latency_ms.p95 ?? "–"} · p99 ${d.latency_ms.p99 ?? "–"} ms`, "latency"),
    card("Escalation rate", pct(d.escalation.rate), say(`${d.escalation.escalated} of ${d.escalation.cascade_requests} cascaded`,
      `级联请求 ${d.escalation.cascade_requests} 个，升级 ${d.escalation.escalated} 个`), "escalation"),
    card("Cache hits", pct(t.cache_hit_rate), say(`${int(t.cache_hits)} answers reused, ${money(t.cache_saved)} saved`,
      `复用 ${int(t.cache_hits)} 个回答，节省 ${money(t.cache_saved)}`), "cache"),
    card("Safety events", int(d.safety.reduce((a, s) => a + s.events, 0)), null, "safety"));
  const when = (t) => new Date(t * 1000).toISOString().slice(0, d.bucket_s < 86400 ? 16 : 10).replace("T", " ");
  $("dash-chart").replaceChildren(...(d.series.length ? [barChart(d.series, d.bucket_s),
    h("details", {}, h("summary", {}, say(`Requests, cost and savings by ${d.bucket_s < 86400 ? "hour" : "day"} (UTC)`,
      `按${d.bucket_s < 86400 ? "小时" : "天"}统计的请求、费用与节省（UTC）`)),
      h("div", { class: "wrap" }, table(["From", "Requests", "Errors", "Cost", "Saved", "Saved %"],
        d.series.map((x) => [when(x.t), int(x.requests), int(x.errors), money(x.cost), money(x.saved), `${x.saved_pct}%`]),
        [1, 2, 3, 4, 5])))] : [h("p", { class: "muted" }, tr("No traffic yet."))]));
  // Quality beside cost: users' ratings (POST /v1/feedback), so a canary and the route it may
  // replace can be compared side by side.
  const share = (x) => (x === null || x === undefined ? "-" : x.toFixed(2));
  $("dash-routes").replaceChildren(table(["Route", "Requests", "Errors", "Cost", "Saved", "Saved %", "Escalated", "Rated", "Score",
    "Agreement"],
    d.routes.map((r) => [r.route, int(r.requests), int(r.errors), money(r.cost), money(r.saved), `${r.saved_pct}%`, int(r.escalated),
      int(r.rated || 0), share(r.score), share(r.agreement)]),
    [1, 2, 3, 4, 5, 6, 7, 8, 9]));
  $("dash-safety").replaceChildren(d.safety.length
    ? table(["Stage", "Category", "Action", "Events"], d.safety.map((s) => [s.stage, s.category, s.action, int(s.events)]), [3])
    : h("p", { class: "muted" }, tr("No safety decisions in this period.")));
  if (state.me && state.me.admin) await showVersions();
}

// Every version of the routes (admin only): serve an earlier one again, or promote a canary.
// Both go through POST /admin/reload, as `plusn routes rollback` and `promote` do.
async function showVersions() {
  const v = await api("/admin/versions");
  const reload = async (body) => {
    try { await api("/admin/reload", { method: "POST", body }); await showDashboard(); } catch (err) { report(err); }
  };
  const at = (ts) => new Date(ts * 1000).toISOString().slice(0, 19).replace("T", " ");
  const rows = v.data.map((x) => [x.version, at(x.ts), x.state, x.routes.join(", "), (x.fitted_on || []).join(", ") || "-",
    x.state === "serving" || x.state === "pinned" ? ""
      : h("button", { type: "button", class: "secondary", "data-version": x.version,
        onclick: () => reload({ version: x.version }) }, tr("Serve this version"))]);
  const promote = Object.entries(v.canaries || {}).map(([route, canary]) => h("button", { type: "button",
    "data-promote": route, onclick: () => reload({ promote: route }) }, say(`Promote ${canary} to ${route}`, `将 ${canary} 提升为 ${route}`)));
  $("dash-versions").replaceChildren(table(["Version", "When", "Status", "Routes", "Fitted on", ""], rows), ...promote);
  $("dash-versions-box").hidden = false;
}

// ---- knowledge ----

async function showKnowledge() {
  const kbs = (await api("/v1/kb")).data;
  $("kb-list").replaceChildren(kbs.length
    ? table(["Knowledge base", "Documents", "Chunks", "Fusion", "Description"],
      kbs.map((k) => [k.id, int(k.documents), int(k.chunks), k.fusion || "", k.description || ""]), [1, 2])
    : h("p", { class: "muted" }, tr("No knowledge bases configured (see docs/knowledge.md).")));
  const select = $("kb-name");
  const current = select.value;
  select.replaceChildren(...kbs.map((k) => h("option", { value: k.id }, k.id)));
  if (current) select.value = current;
  $("kb-search").hidden = $("kb-upload").hidden = !kbs.length;
}

async function kbSearch(ev) {
  ev.preventDefault();
  const kb = $("kb-name").value; const query = $("kb-query").value.trim();
  if (!kb || !query) return;
  const res = await api(`/v1/kb/${encodeURIComponent(kb)}/search`, { method: "POST", body: { query, k: 5 } });
  $("kb-status").textContent = `${res.data.length} results`;
  $("kb-results").replaceChildren(...res.data.map((r) => h("li", {},
    h("strong", {}, r.title || r.document || r.source), ` · score ${Number(r.score).toFixed(3)}`,
    h("p", {}, r.snippet || r.text))));
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function kbUpload(ev) {
  ev.preventDefault();
  const files = [...$("kb-file").files];
  const kb = $("kb-name").value;
  if (!files.length || !kb) return;
  $("kb-status").textContent = `Uploading ${files.length} file(s)…`;
  const documents = await Promise.all(files.map(async (f) => ({ source: f.name, content_base64: await readBase64(f) })));
  const res = await api(`/v1/kb/${encodeURIComponent(kb)}/documents`, { method: "POST", body: { documents } });
  $("kb-status").textContent = `Added ${res.added ?? 0}, updated ${res.updated ?? 0}, unchanged ${res.unchanged ?? 0}; ${res.chunks ?? 0} chunks.`;
  $("kb-file").value = "";
  await showKnowledge();
}

// ---- catalogue, keys, arena ----

async function showCatalogue() {
  await loadModels();
  let skills = [];
  try { skills = (await api("/v1/skills")).data; } catch { /* skills may be off */ }
  const rows = state.models.map((m) => [m.id, (m.plusn && m.plusn.type) || "", (m.plusn && m.plusn.endpoints || []).join(", "),
    m.plusn && m.plusn.price ? `${m.plusn.price.input_per_1k} / ${m.plusn.price.output_per_1k}` : "",
    (m.plusn && m.plusn.description) || ""]);
  $("catalogue").replaceChildren(
    h("h2", {}, tr("Models, routes and agents")),
    h("div", { class: "wrap" }, table(["Id", "Type", "Endpoints", "Price in/out per 1k", "Description"], rows)),
    h("h2", {}, tr("Skills")),
    skills.length
      ? h("div", { class: "wrap" }, table(["Skill", "Version", "Target", "Description"],
        skills.map((s) => [s.id, s.version, s.target, s.description])))
      : h("p", { class: "muted" }, tr("No skills.")));
}

async function showKeys() {
  if (!state.me.admin) {
    const d = await api("/v1/console/dashboard?days=30");
    $("keys").replaceChildren(h("p", {}, `Your key (${state.me.name}) in the last 30 days: ${int(d.total.requests)} requests, cost ${money(d.total.cost)}.`));
    return;
  }
  const d = await api("/v1/console/keys");
  const usage = Object.fromEntries(d.usage.map((u) => [u.key, u]));
  $("keys").replaceChildren(
    h("div", { class: "wrap" }, table(["Key", "Prefix", "Team", "Models", "Limits", "Status", `Requests (${d.days} d)`, "Cost"],
      d.keys.map((k) => [k.name, k.prefix, k.team || "", (k.models || []).join(", ") || "all",
        Object.entries(k.limits || {}).map(([a, b]) => `${a} ${b}`).join(", ") || "–", k.revoked ? "revoked" : "active",
        int((usage[k.name] || {}).requests), money((usage[k.name] || {}).cost)]), [6, 7])),
    h("h2", {}, tr("Usage by caller")),
    h("div", { class: "wrap" }, table(["Caller", "Requests", "Errors", "Tokens in", "Tokens out", "Cost"],
      d.usage.map((u) => [u.key, int(u.requests), int(u.errors), int(u.tokens_in), int(u.tokens_out), money(u.cost)]),
      [1, 2, 3, 4, 5])));
}

async function openRun(id) {
  const r = await api(`/v1/arena/runs/${encodeURIComponent(id)}/report`, { raw: true });
  const frame = $("arena-report");
  frame.srcdoc = await r.text();
  frame.hidden = false;
  frame.focus();
}

async function showArena() {
  const runs = (await api("/v1/arena/runs")).data;
  $("arena-list").replaceChildren(runs.length
    ? table(["Suite", "When", "Tasks", "Best quality", "Frontier", ""], runs.map((r) => {
      const best = [...r.contestants].sort((a, b) => b.quality - a.quality)[0];
      return [r.suite, new Date(r.ts * 1000).toLocaleString(), int(r.tasks), `${best.name} ${best.quality.toFixed(3)}`,
        (r.pareto || []).join(" → "),
        h("button", { type: "button", class: "secondary", "data-run": r.id, "aria-label": `Open report: ${r.suite}`,
          onclick: () => openRun(r.id).catch(report) }, tr("Open report"))];
    }))
    : h("p", { class: "muted" }, "No runs yet. Run: plusn eval run examples/arena/suite.yaml"));
}

// ---- start ----

window.addEventListener("hashchange", route);
$("signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  signIn($("key").value.trim()).catch((err) => showSignIn(err.message));
});
$("signout").addEventListener("click", signOut);
$("chat-form").addEventListener("submit", (ev) => send(ev).catch(report));
$("chat-input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $("chat-form").requestSubmit(); }
});
$("chat-new").addEventListener("click", newConversation);
$("dash-days").addEventListener("change", () => showDashboard().catch(report));
$("dash-refresh").addEventListener("click", () => showDashboard().catch(report));
$("kb-search").addEventListener("submit", (ev) => kbSearch(ev).catch(report));
$("kb-upload").addEventListener("submit", (ev) => kbUpload(ev).catch(report));

$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("plusn.lang", lang);
  translatePage();
  route();
});
translatePage();

// An open gateway (no keys yet) lets the console in without one; otherwise ask.
signIn(state.key).catch(() => showSignIn(state.key ? "That key was not accepted." : ""));
