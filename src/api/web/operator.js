"use strict";
// The operator's screens of the page (index.html): Configure alarms, Templates,
// Silences, Settings and Help. Loaded after the page's inline script, whose
// helpers (api, send, t, addStrings, formatTime, fill, cell, SCREENS,
// ALERT_ROW_ACTIONS) it uses.
//
// Conventions: every text shown comes from operator_strings.js through t();
// whatever comes from the network (rule ids, names, patterns, channel names,
// the API's messages) sits in an element with translate="no" and is passed
// through visible(). Every write says what it did, or what the API refused
// (its message, field and rule), in the screen's note (role="status").
// Everything is inside one function, so that no name of this script can clash
// with one of the page's inline script.
(() => {

// ---- Helpers shared by the screens.

// An element: `attrs` sets properties (className, id, type...) and, for keys
// with a dash or "translate"/"role", attributes; `i18n` names the text's key
// (data-i18n, so that translateDom() follows the language); children are
// nodes or (already translated or data) text.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "i18n") { e.dataset.i18n = v; e.textContent = t(v); }
    else if (k.includes("-") || k === "translate" || k === "role" || k === "for") e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return e;
}

// Data from the network, shown as it is (never translated).
function dataSpan(text, cls) {
  return el("span", { translate: "no", className: cls || "" },
            visible(text === undefined || text === null ? "" : String(text)));
}
function dataCell(text, cls) {
  const td = cell(text, cls);
  td.setAttribute("translate", "no");
  return td;
}
// A cell of the page's own words (translated, so no translate="no").
function wordCell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}
// A column header translated with the language.
function headRow(keys) {
  return el("tr", {}, ...keys.map(k => el("th", k ? { i18n: k } : {})));
}
function opTable(id, keys) {
  return el("table", { id, className: "op-table" }, el("thead", {}, headRow(keys)),
            el("tbody"));
}

// The screen's note: what a write did (ok) or what the API refused.
function opNote(id) {
  return el("p", { id, role: "status", className: "op-note" });
}
// Draws a note from parts: text, nodes (data, never translated) or functions
// giving the page's words in the language in force; a change of language
// draws it again (redrawNotes).
function drawNote(note, cls, parts) {
  note.className = "op-note " + cls;
  note.opNote = { cls, parts };
  note.replaceChildren(...parts.map(p => typeof p === "function" ? document.createTextNode(p())
                                        : typeof p === "string" ? document.createTextNode(p) : p));
}
function redrawNotes() {
  for (const n of document.querySelectorAll(".op-note")) {
    if (n.opNote) drawNote(n, n.opNote.cls, n.opNote.parts);
  }
}
function sayDone(note, ...parts) {
  drawNote(note, "ok-note", parts);
}
function sayWrong(note, ...parts) {
  drawNote(note, "error", parts);
}
// The API's refusal as it gave it: "Refused: <message> (field: x, rule: y)".
function sayRefused(note, r) {
  const e = r && r.data && r.data.error ? r.data.error : null;
  const parts = [() => t("cfg.refused") + ": ",
                 dataSpan(e && e.message ? e.message : "HTTP " + (r ? r.status : 0), "op-message")];
  const extra = [];
  if (e && e.field) extra.push(["cfg.field", dataSpan(e.field, "op-field")]);
  if (e && e.rule) extra.push(["cfg.rule", dataSpan(e.rule, "op-rule")]);
  if (extra.length) {
    parts.push(" (");
    extra.forEach(([key, value], i) => {
      if (i) parts.push(", ");
      parts.push(() => t(key) + ": ", value);
    });
    parts.push(")");
  }
  drawNote(note, "error", parts);
}
// A failure that is no answer of the API (the network, a script error).
function sayError(note, text) {
  drawNote(note, "error", [dataSpan(text)]);
}
function sayFailedLoad(note, text) {
  drawNote(note, "error", [() => t("cfg.failed") + ": ", dataSpan(text)]);
}

// A button translated with the language.
function opButton(key, fn, attrs) {
  const b = el("button", Object.assign({ type: "button", i18n: key }, attrs || {}));
  b.addEventListener("click", fn);
  return b;
}

// A delete button asking for a second click ("Really delete?", with Cancel).
function twoClickDelete(action) {
  const box = el("span", { className: "actions" });
  const cancel = opButton("cfg.cancel", () => reset());
  const del = opButton("cfg.delete", async () => {
    if (!del.classList.contains("confirm")) {
      del.classList.add("confirm");
      del.dataset.i18n = "cfg.really_delete";
      del.textContent = t("cfg.really_delete");
      cancel.hidden = false;
      return;
    }
    del.disabled = true;
    try { await action(); } finally { del.disabled = false; reset(); }
  }, { className: "delete" });
  function reset() {
    del.classList.remove("confirm");
    del.dataset.i18n = "cfg.delete";
    del.textContent = t("cfg.delete");
    cancel.hidden = true;
  }
  cancel.hidden = true;
  box.append(del, cancel);
  return box;
}

// Marks the tab busy (data-busy on its <main>) while `work` runs, so that
// whoever reads the screen (a test, a script) can wait until it settles.
async function busy(tab, work) {
  const main = document.getElementById("tab-" + tab);
  main.dataset.busy = String((Number(main.dataset.busy) || 0) + 1);
  try {
    return await work();
  } finally {
    const n = Number(main.dataset.busy) - 1;
    if (n > 0) main.dataset.busy = String(n); else delete main.dataset.busy;
  }
}

// A labelled field: <label><span>text</span>control</label>.
function field(key, control, error) {
  return el("label", {}, el("span", { i18n: key }), control, error || null);
}

// Every item of a paged list (GET ...?limit=1000&cursor=...).
async function allItems(path) {
  const items = [];
  let cursor = "";
  do {
    const page = await api(path + "?limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// GET /api/v1/settings, read again at most every 10 s (channels and
// schedules for the forms).
const opSettings = { data: null, at: 0, error: "" };
async function loadSettings(force) {
  if (!force && opSettings.data && Date.now() - opSettings.at < 10000) return opSettings.data;
  const r = await fetchJson("/api/v1/settings");
  if (r.ok && r.data) {
    opSettings.data = r.data;
    opSettings.at = Date.now();
    opSettings.error = "";
  } else {
    opSettings.error = errorText(r);
  }
  return opSettings.data;
}
function channelNames() {
  const s = opSettings.data;
  return s && Array.isArray(s.channels) ? s.channels.map(c => String(c.name)) : [];
}
function scheduleNames() {
  const s = opSettings.data;
  return s && Array.isArray(s.schedules) ? s.schedules.map(x => String(x.name)) : [];
}

// Checkboxes of the configured channels, `checked` ticked (a channel the
// rule names that is not configured is kept, shown too).
function channelBoxes(root, checked, name, onChange) {
  const names = channelNames();
  for (const c of checked || []) if (!names.includes(c)) names.push(c);
  root.replaceChildren();
  if (!names.length) {
    root.appendChild(el("span", { className: "note", i18n: "cfg.no_channels" }));
    return;
  }
  for (const n of names) {
    const box = el("input", { type: "checkbox", value: n, name });
    box.checked = (checked || []).includes(n);
    if (onChange) box.addEventListener("change", onChange);
    root.appendChild(el("label", { className: "check" }, box, dataSpan(n)));
  }
}
function checkedValues(root) {
  return [...root.querySelectorAll("input[type=checkbox]:checked")].map(b => b.value);
}

// A <select> of `values` (data, shown as they are) after a first option
// `firstKey` (translated) whose value is "".
function fillSelect(select, firstKey, values, chosen) {
  const first = new Option(t(firstKey), "");
  first.dataset.i18n = firstKey;
  select.replaceChildren(first);
  const list = [...values];
  if (chosen && !list.includes(chosen)) list.push(chosen);
  for (const v of list) {
    const o = new Option(visible(v), v);
    o.setAttribute("translate", "no");
    select.appendChild(o);
  }
  select.value = chosen || "";
}

// "warning 70, major 85" in the page's language.
function thresholdsOf(x) {
  return LEVELS.filter(l => x.thresholds && l in x.thresholds)
    .map(l => t("tpl.lvl." + l) + " " + x.thresholds[l]).join(", ");
}
function directionCell(d) {
  return d === "above" || d === "below" ? wordCell(t("tpl.dir." + d)) : dataCell(d || "");
}

// ---- Templates.
const tpl = { built: false, items: [], rules: [], editing: null, forRules: "", results: [] };

function buildTemplates() {
  const main = document.getElementById("tab-templates");
  const err = id => el("span", { className: "field-error", id: "tpl-err-" + id });
  const input = (id, size) => el("input", { id: "tpl-" + id, size: size || 6 });
  main.replaceChildren(
    el("section", {},
       el("h2", { i18n: "tpl.title" }),
       el("p", { className: "note", i18n: "tpl.intro" }),
       el("div", { className: "bar" },
          opButton("tpl.new", () => editTemplate(null), { id: "tpl-new" }),
          opButton("cfg.reload", () => loadTemplates(), { id: "tpl-reload" })),
       opNote("tpl-status"),
       opTable("tpl-table", ["tpl.h_name", "tpl.h_thresholds", "tpl.h_direction",
                             "tpl.h_checks_alert", "tpl.h_checks_ok", "tpl.h_margin",
                             "tpl.h_period", "tpl.h_channels", "tpl.h_used", "tpl.h_actions"])),
    el("section", { id: "tpl-form-section" },
       el("h2", {}, el("span", { id: "tpl-form-title", i18n: "tpl.form_new" }), " ",
          el("span", { id: "tpl-form-name", translate: "no" })),
       el("form", { id: "tpl-form", noValidate: true },
          field("tpl.name", input("name", 20), err("name")),
          field("tpl.direction",
                el("select", { id: "tpl-direction" },
                   el("option", { value: "", i18n: "tpl.direction_unset" }),
                   el("option", { value: "above", i18n: "tpl.above" }),
                   el("option", { value: "below", i18n: "tpl.below" })), err("direction")),
          field("tpl.warning", input("warning")),
          field("tpl.major", input("major")),
          field("tpl.critical", input("critical"), err("thresholds")),
          field("tpl.checks_alert", input("checks_alert", 4), err("checks_alert")),
          field("tpl.checks_ok", input("checks_ok", 4), err("checks_ok")),
          field("tpl.ok_margin_pct", input("ok_margin_pct", 4), err("ok_margin_pct")),
          field("tpl.schedule", el("select", { id: "tpl-schedule" }), err("schedule")),
          el("fieldset", { className: "op-boxes" }, el("legend", { i18n: "tpl.channels" }),
             el("span", { id: "tpl-channels", className: "op-checks" }), err("channels")),
          el("div", { className: "actions" },
             el("button", { type: "submit", id: "tpl-save", i18n: "tpl.save" }),
             opButton("cfg.cancel", () => editTemplate(null), { id: "tpl-cancel" })),
          err("form"))),
    el("section", { id: "tpl-rules-section", hidden: true },
       el("h2", {}, el("span", { i18n: "tpl.rules_title" }), " ",
          el("span", { id: "tpl-rules-template", translate: "no" })),
       el("form", { id: "tpl-rules-form", noValidate: true },
          field("tpl.rules_name", el("input", { id: "tpl-rules-name", size: 30 })),
          field("tpl.rules_patterns", el("textarea", { id: "tpl-rules-patterns", rows: 6 })),
          el("div", { className: "actions" },
             el("button", { type: "submit", id: "tpl-rules-create", i18n: "tpl.rules_create" }))),
       opNote("tpl-rules-status"),
       el("table", { id: "tpl-rules-result", className: "op-table", hidden: true },
          el("thead", {}, headRow(["tpl.h_pattern", "cfg.h_rule", "tpl.h_result"])),
          el("tbody"))));
  document.getElementById("tpl-form").addEventListener("submit", ev => {
    ev.preventDefault();
    saveTemplate().catch(e => sayError(document.getElementById("tpl-status"), String(e)));
  });
  document.getElementById("tpl-rules-form").addEventListener("submit", ev => {
    ev.preventDefault();
    createRulesFromTemplate().catch(e => sayError(document.getElementById("tpl-rules-status"), String(e)));
  });
  tpl.built = true;
  editTemplate(null);
}

function loadTemplates() {
  return busy("templates", loadTemplatesNow);
}
async function loadTemplatesNow() {
  const note = document.getElementById("tpl-status");
  try {
    const [items, rules] = await Promise.all([allItems("/api/v1/templates"), allRules(),
                                              loadSettings()]);
    tpl.items = items;
    tpl.rules = rules;
  } catch (e) {
    sayFailedLoad(note, String(e));
    return;
  }
  renderTemplates();
  refreshTemplateChoices();
}

function renderTemplates() {
  const used = new Map();
  for (const r of tpl.rules) if (r.template) used.set(r.template, (used.get(r.template) || 0) + 1);
  fill("tpl-table", tpl.items.map(x => {
    const actions = el("td", {});
    const box = el("span", { className: "actions" });
    if (x.read_only) {
      box.append(el("span", { i18n: "cfg.from_file" }));
    } else {
      box.append(opButton("cfg.edit", () => editTemplate(x), { className: "edit" }),
                 opButton("tpl.new_rules", () => openRulesForm(x.name), { className: "new-rules" }),
                 twoClickDelete(() => deleteTemplate(x.name)));
    }
    actions.appendChild(box);
    return [dataCell(x.name), wordCell(thresholdsOf(x)), directionCell(x.direction),
            dataCell(x.checks_alert), dataCell(x.checks_ok), dataCell(x.ok_margin_pct),
            dataCell(x.schedule || ""), dataCell((x.channels || []).join(", ")),
            wordCell(t("tpl.used", used.get(x.name) || 0), "used"), actions];
  }), 10, t("tpl.none_yet"), (tr, i) => { tr.dataset.template = tpl.items[i].name; });
}

// The form's schedule choices and channel boxes, from the settings in force.
// What the operator has chosen so far stays chosen.
function refreshTemplateChoices() {
  const x = tpl.editing || {};
  fillSelect(document.getElementById("tpl-schedule"), "tpl.schedule_unset", scheduleNames(),
             document.getElementById("tpl-schedule").value || x.schedule || "");
  refreshChannelBoxes(document.getElementById("tpl-channels"), "tpl-channel");
}

// Draws the channel boxes again only when the configured channels changed,
// keeping those ticked.
function refreshChannelBoxes(root, name, onChange) {
  const shown = [...root.querySelectorAll("input[type=checkbox]")].map(b => b.value);
  const names = channelNames();
  if (shown.length && names.every(n => shown.includes(n))) return;
  channelBoxes(root, checkedValues(root), name, onChange);
}

function editTemplate(x) {
  tpl.editing = x;
  for (const e of document.querySelectorAll("#tab-templates .field-error")) e.textContent = "";
  const put = (name, v) => {
    document.getElementById("tpl-" + name).value = v === undefined || v === null ? "" : String(v);
  };
  const v = x || {};
  for (const name of ["name", "direction", "checks_alert", "checks_ok", "ok_margin_pct"]) put(name, v[name]);
  for (const l of LEVELS) put(l, v.thresholds ? v.thresholds[l] : undefined);
  document.getElementById("tpl-name").disabled = !!x;
  const title = document.getElementById("tpl-form-title");
  title.dataset.i18n = x ? "tpl.form_edit" : "tpl.form_new";
  title.textContent = t(title.dataset.i18n);
  document.getElementById("tpl-form-name").textContent = x ? visible(String(x.name)) : "";
  fillSelect(document.getElementById("tpl-schedule"), "tpl.schedule_unset", scheduleNames(),
             v.schedule || "");
  channelBoxes(document.getElementById("tpl-channels"), v.channels || [], "tpl-channel");
  if (x) document.getElementById("tpl-form-section").scrollIntoView();
}

// The template the form describes; editing starts from the template as
// stored, so that the fields the form does not show (labels, flap...) stay.
function templateBody() {
  const body = Object.assign({}, tpl.editing || {});
  delete body.source;
  delete body.read_only;
  const val = name => document.getElementById("tpl-" + name).value.trim();
  const set = (k, v) => { if (v === undefined || v === "") delete body[k]; else body[k] = v; };
  if (!tpl.editing) set("name", val("name"));
  set("direction", val("direction"));
  const thresholds = {};
  for (const l of LEVELS) {
    const v = numberOrText(val(l));
    if (v !== undefined) thresholds[l] = v;
  }
  if (Object.keys(thresholds).length) body.thresholds = thresholds; else delete body.thresholds;
  for (const k of ["checks_alert", "checks_ok", "ok_margin_pct"]) set(k, numberOrText(val(k)));
  set("schedule", val("schedule"));
  const channels = checkedValues(document.getElementById("tpl-channels"));
  if (channels.length) body.channels = channels; else delete body.channels;
  return body;
}

async function saveTemplate() {
  const note = document.getElementById("tpl-status");
  for (const e of document.querySelectorAll("#tab-templates .field-error")) e.textContent = "";
  const editing = tpl.editing;
  const r = editing
    ? await send("PUT", "/api/v1/templates/" + encodeURIComponent(editing.name), templateBody())
    : await send("POST", "/api/v1/templates", templateBody());
  if (!r.ok) {
    sayRefused(note, r);
    const e = r.data && r.data.error ? r.data.error : {};
    const at = document.getElementById("tpl-err-" + String(e.field || "").split(".")[0]) ||
               document.getElementById("tpl-err-form");
    at.replaceChildren(dataSpan(e.message || "HTTP " + r.status));
    return;
  }
  sayDone(note, () => t("tpl.saved") + " ", dataSpan(r.data.name), ".");
  editTemplate(null);
  await loadTemplates();
}

async function deleteTemplate(name) {
  const note = document.getElementById("tpl-status");
  const r = await send("DELETE", "/api/v1/templates/" + encodeURIComponent(name));
  if (!r.ok) {
    sayRefused(note, r);
    return;
  }
  sayDone(note, () => t("tpl.deleted") + " ", dataSpan(name), ".");
  if (tpl.editing && tpl.editing.name === name) editTemplate(null);
  await loadTemplates();
}

function openRulesForm(name) {
  tpl.forRules = name;
  const section = document.getElementById("tpl-rules-section");
  section.hidden = false;
  document.getElementById("tpl-rules-template").textContent = visible(String(name));
  document.getElementById("tpl-rules-status").replaceChildren();
  tpl.results = [];
  renderRulesResult();
  section.scrollIntoView();
  document.getElementById("tpl-rules-name").focus();
}

// What "New rules from this template" made of each pattern: the rule's id, or
// the API's refusal.
function renderRulesResult() {
  const table = document.getElementById("tpl-rules-result");
  table.hidden = !tpl.results.length;
  fill("tpl-rules-result", tpl.results.map(x => [
    dataCell(x.pattern, "series"), dataCell(x.id),
    x.error ? dataCell(x.error, "error") : wordCell(t("tpl.created"), "ok-note")]), 3, "");
}

// One POST /api/v1/rules per pattern, each {"name", "pattern", "template"};
// with several patterns each rule is named "<name> (<pattern>)", so that its
// name (and the id the API makes of it) tells the rules apart.
async function createRulesFromTemplate() {
  const note = document.getElementById("tpl-rules-status");
  const name = document.getElementById("tpl-rules-name").value.trim();
  const patterns = document.getElementById("tpl-rules-patterns").value.split("\n")
    .map(s => s.trim()).filter(s => s !== "");
  if (!name || !patterns.length || !tpl.forRules) {
    sayWrong(note, () => t("tpl.rules_need"));
    return;
  }
  tpl.results = [];
  let created = 0;
  for (const pattern of patterns) {
    const ruleName = patterns.length > 1 ? name + " (" + pattern + ")" : name;
    const r = await send("POST", "/api/v1/rules",
                         { name: ruleName, pattern, template: tpl.forRules });
    if (r.ok) {
      created++;
      tpl.results.push({ pattern, id: r.data.id, error: "" });
    } else {
      const e = r.data && r.data.error ? r.data.error : {};
      tpl.results.push({ pattern, id: "", error: (e.field ? e.field + ": " : "") +
                                                 (e.message || "HTTP " + r.status) });
    }
  }
  renderRulesResult();
  const refused = patterns.length - created;
  drawNote(note, refused ? "error" : "ok-note", [() => t("tpl.rules_done", created, refused)]);
  if (refused === 0) document.getElementById("tpl-rules-patterns").value = "";
  await loadTemplates();
  refresh();
}

// ---- Configure alarms: every rule in one table, filter, select, change many
// at once (POST /api/v1/rules/bulk, all or nothing).
const cfg = { built: false, rules: [], templates: [], selected: new Set(), rows: [] };
const BULK_FIELDS = ["channels", "checks_alert", "checks_ok", "schedule", "ok_margin_pct",
                     "enabled", "template"];

function buildConfigure() {
  const main = document.getElementById("tab-configure");
  const bulkField = (name, control) => {
    const change = el("input", { type: "checkbox", id: "cfg-set-" + name, className: "op-change" });
    // Touching a field's control ticks "change" for it.
    const tick = () => { change.checked = true; };
    control.addEventListener("input", tick);
    control.addEventListener("change", tick);
    return el("div", { className: "op-bulk-field" },
              el("label", { className: "check" }, change, el("span", { i18n: "cfg." + name })),
              control);
  };
  const numberInput = name => el("input", { id: "cfg-" + name, size: 4, inputMode: "decimal" });
  // The bulk form sits between the filter and the table, so that it stays in
  // reach however many rules the table holds.
  main.replaceChildren(
    el("section", {},
       el("h2", { i18n: "cfg.title" }),
       el("p", { className: "note", i18n: "cfg.intro" }),
       el("div", { className: "bar" },
          field("cfg.filter", el("input", { id: "cfg-filter", type: "search", size: 30,
                                            "data-i18n-placeholder": "cfg.filter_placeholder",
                                            placeholder: t("cfg.filter_placeholder") })),
          el("label", { className: "check" },
             el("input", { type: "checkbox", id: "cfg-select-all" }),
             el("span", { i18n: "cfg.select_all" })),
          el("span", { id: "cfg-count", className: "note" }),
          opButton("cfg.reload", () => loadConfigure(), { id: "cfg-reload" })),
       el("fieldset", { id: "cfg-bulk-section", className: "op-bulk" },
          el("legend", { i18n: "cfg.bulk_title" }),
          el("p", { className: "note", i18n: "cfg.bulk_hint" }),
          el("form", { id: "cfg-bulk", noValidate: true },
             bulkField("channels", el("span", { id: "cfg-channels", className: "op-checks" })),
             bulkField("checks_alert", numberInput("checks_alert")),
             bulkField("checks_ok", numberInput("checks_ok")),
             bulkField("schedule", el("select", { id: "cfg-schedule" })),
             bulkField("ok_margin_pct", numberInput("ok_margin_pct")),
             bulkField("enabled", el("select", { id: "cfg-enabled" },
                                     el("option", { value: "true", i18n: "cfg.yes" }),
                                     el("option", { value: "false", i18n: "cfg.no" }))),
             bulkField("template", el("select", { id: "cfg-template" })),
             el("div", { className: "actions" },
                el("button", { type: "submit", id: "cfg-apply" }))),
          opNote("cfg-bulk-status")),
       opNote("cfg-status"),
       opTable("cfg-table", ["", "cfg.h_dashboard", "cfg.h_panel", "cfg.h_rule", "cfg.h_metric",
                             "cfg.h_channels", "cfg.h_checks_alert", "cfg.h_checks_ok",
                             "cfg.h_period", "cfg.h_margin", "cfg.h_template", "cfg.h_enabled",
                             "cfg.h_source", "cfg.h_actions"])));
  document.getElementById("cfg-filter").addEventListener("input", () => applyFilter());
  document.getElementById("cfg-select-all").addEventListener("change", ev => {
    for (const row of cfg.rows) {
      if (row.box && !row.tr.hidden) {
        row.box.checked = ev.target.checked;
        if (ev.target.checked) cfg.selected.add(row.rule.id); else cfg.selected.delete(row.rule.id);
      }
    }
    updateCount();
  });
  document.getElementById("cfg-bulk").addEventListener("submit", ev => {
    ev.preventDefault();
    applyBulk().catch(e => sayError(document.getElementById("cfg-bulk-status"), String(e)));
  });
  cfg.built = true;
  updateCount();
}

function loadConfigure() {
  return busy("configure", loadConfigureNow);
}
async function loadConfigureNow() {
  const note = document.getElementById("cfg-status");
  try {
    const [rules, templates] = await Promise.all([allRules(), allItems("/api/v1/templates"),
                                                  loadSettings()]);
    // Grouped as the operators know them: dashboard, panel, then name.
    const key = r => { const x = ruleTexts(r); return [x.dashboard, x.panel, String(r.name || r.id), r.id]; };
    cfg.rules = rules.map(r => [key(r), r]).sort((a, b) => {
      for (let i = 0; i < a[0].length; i++) {
        const c = a[0][i].localeCompare(b[0][i]);
        if (c) return c;
      }
      return 0;
    }).map(x => x[1]);
    cfg.templates = templates;
  } catch (e) {
    sayFailedLoad(note, String(e));
    return;
  }
  const ids = new Set(cfg.rules.filter(r => !r.read_only).map(r => r.id));
  for (const id of [...cfg.selected]) if (!ids.has(id)) cfg.selected.delete(id);
  renderConfigure();
  refreshBulkChoices();
}

// A rule's value of `key`, else its template's (shown as inherited), else the default.
function effective(r, key, def) {
  if (r[key] !== undefined && r[key] !== null) return { v: r[key], own: true };
  const x = r.template ? cfg.templates.find(y => y.name === r.template) : null;
  if (x && x[key] !== undefined && x[key] !== null) return { v: x[key], own: false };
  return { v: def, own: false };
}
function valueCell(r, key, def, show) {
  const e = effective(r, key, def);
  const td = dataCell(show ? show(e.v) : e.v);
  if (!e.own) {
    td.classList.add("inherited");
    td.dataset.i18nTitle = "cfg.inherited";
    td.title = t("cfg.inherited");
  }
  return td;
}

function ruleTexts(r) {
  const labels = r.labels || {};
  const g = r.grafana && typeof r.grafana === "object" ? r.grafana : null;
  return {
    dashboard: String(labels.dashboard || (g ? g.uid : "") || ""),
    panel: String(labels.panel || (g ? "panel " + g.panel_id : "") || ""),
    metric: String(r.target !== undefined ? r.target : r.pattern || ""),
  };
}

function renderConfigure() {
  const body = document.querySelector("#cfg-table tbody");
  body.replaceChildren();
  cfg.rows = [];
  const yesNo = v => v === false ? t("cfg.no") : t("cfg.yes");
  cfg.rules.forEach((r, i) => {
    const tx = ruleTexts(r);
    const tr = el("tr", { className: "row" });
    tr.dataset.rule = r.id;
    const pick = el("td", {});
    let box = null;
    if (!r.read_only) {
      box = el("input", { type: "checkbox", className: "pick", id: "cfg-pick-" + i });
      box.setAttribute("aria-labelledby", "cfg-pick-label cfg-rule-" + i);
      box.checked = cfg.selected.has(r.id);
      box.addEventListener("change", () => {
        if (box.checked) cfg.selected.add(r.id); else cfg.selected.delete(r.id);
        updateCount();
      });
      pick.appendChild(box);
    }
    const name = el("td", { id: "cfg-rule-" + i, translate: "no" },
                    visible(String(r.name || r.id)), el("br"),
                    el("span", { className: "note" }, visible(String(r.id))));
    const actions = el("td", {});
    const div = el("span", { className: "actions" });
    if (r.read_only) {
      div.append(el("span", { i18n: "cfg.from_file", title: t("cfg.file_rule"),
                              "data-i18n-title": "cfg.file_rule" }),
                 dataSpan(r.source_file || "", "file"));
    } else {
      div.append(opButton("cfg.edit", () => { showTab("home"); editRule(r.id); }, { className: "edit" }),
                 twoClickDelete(() => deleteRule(r.id)));
    }
    actions.appendChild(div);
    const enabled = valueCell(r, "enabled", true, yesNo);
    enabled.removeAttribute("translate");
    tr.append(pick, dataCell(tx.dashboard), dataCell(tx.panel), name,
              dataCell(tx.metric, "series"),
              valueCell(r, "channels", [], v => (v || []).join(", ")),
              valueCell(r, "checks_alert", 1), valueCell(r, "checks_ok", 1),
              valueCell(r, "schedule", "24x7"), valueCell(r, "ok_margin_pct", 0),
              dataCell(r.template || ""), enabled, dataCell(r.source || ""), actions);
    body.appendChild(tr);
    cfg.rows.push({ rule: r, tr, box,
                    text: [tx.dashboard, tx.panel, r.name, r.id, tx.metric,
                           (effective(r, "channels", []).v || []).join(" "),
                           effective(r, "schedule", "24x7").v, r.template || "", r.source,
                           r.source_file || ""].join("\n").toLowerCase() });
  });
  if (!cfg.rules.length) {
    body.appendChild(el("tr", {}, el("td", { colSpan: 14, className: "empty", i18n: "cfg.no_rules" })));
  }
  body.appendChild(el("tr", { id: "cfg-no-match", hidden: true },
                      el("td", { colSpan: 14, className: "empty", i18n: "cfg.no_match" })));
  // The hidden label of the row checkboxes ("Select" + the rule's name).
  if (!document.getElementById("cfg-pick-label")) {
    document.getElementById("tab-configure").appendChild(
      el("span", { id: "cfg-pick-label", hidden: true, i18n: "cfg.select_rule" }));
  }
  applyFilter();
}

function applyFilter() {
  const q = document.getElementById("cfg-filter").value.trim().toLowerCase();
  for (const row of cfg.rows) row.tr.hidden = q !== "" && !row.text.includes(q);
  document.getElementById("cfg-no-match").hidden =
    !cfg.rows.length || cfg.rows.some(row => !row.tr.hidden);
  updateCount();
}

// The selected rules that the filter shows (the bulk change applies to these).
function selectedShown() {
  return cfg.rows.filter(row => row.box && !row.tr.hidden && cfg.selected.has(row.rule.id))
    .map(row => row.rule.id);
}

function updateCount() {
  if (!cfg.built) return;
  const shown = cfg.rows.filter(row => !row.tr.hidden);
  const selectable = shown.filter(row => row.box);
  const n = selectedShown().length;
  document.getElementById("cfg-count").textContent = t("cfg.shown", shown.length, cfg.rows.length, n);
  const all = document.getElementById("cfg-select-all");
  all.checked = selectable.length > 0 && selectable.every(row => cfg.selected.has(row.rule.id));
  const apply = document.getElementById("cfg-apply");
  apply.textContent = t("cfg.apply", n);
}

function refreshBulkChoices() {
  refreshChannelBoxes(document.getElementById("cfg-channels"), "cfg-channel",
                      () => { document.getElementById("cfg-set-channels").checked = true; });
  const schedule = document.getElementById("cfg-schedule");
  fillSelect(schedule, "cfg.default_schedule", scheduleNames(), schedule.value);
  const template = document.getElementById("cfg-template");
  fillSelect(template, "cfg.no_template", cfg.templates.map(x => String(x.name)), template.value);
}

// The "set" of the bulk change: the ticked fields; an empty number, the
// default schedule or no template is null (back to the template's or the default).
function bulkSet() {
  const set = {};
  const val = name => document.getElementById("cfg-" + name).value.trim();
  for (const k of BULK_FIELDS) {
    if (!document.getElementById("cfg-set-" + k).checked) continue;
    if (k === "channels") set.channels = checkedValues(document.getElementById("cfg-channels"));
    else if (k === "enabled") set.enabled = val("enabled") === "true";
    else if (k === "schedule" || k === "template") set[k] = val(k) === "" ? null : val(k);
    else { const v = numberOrText(val(k)); set[k] = v === undefined ? null : v; }
  }
  return set;
}

async function applyBulk() {
  const note = document.getElementById("cfg-bulk-status");
  const ids = selectedShown();
  const set = bulkSet();
  if (!ids.length) {
    sayWrong(note, () => t("cfg.nothing_selected"));
    return;
  }
  if (!Object.keys(set).length) {
    sayWrong(note, () => t("cfg.nothing_to_change"));
    return;
  }
  const apply = document.getElementById("cfg-apply");
  apply.disabled = true;
  let r;
  try {
    r = await send("POST", "/api/v1/rules/bulk", { ids, set });
  } finally {
    apply.disabled = false;
  }
  if (!r.ok) {
    sayRefused(note, r);
    return;
  }
  const n = r.data && Array.isArray(r.data.items) ? r.data.items.length : ids.length;
  sayDone(note, () => t("cfg.changed", n));
  await loadConfigure();
  refresh();
}

async function deleteRule(id) {
  const note = document.getElementById("cfg-status");
  const r = await send("DELETE", "/api/v1/rules/" + encodeURIComponent(id));
  if (!r.ok && r.status !== 404) {
    sayRefused(note, r);
    return;
  }
  sayDone(note, () => t("cfg.deleted") + " ", dataSpan(id), ".");
  cfg.selected.delete(id);
  await loadConfigure();
  refresh();
}

// ---- Silences: the list, expire; and the "Silence" dialog of an alert's row.
const sil = { built: false, items: [] };

function buildSilences() {
  document.getElementById("tab-silences").replaceChildren(
    el("section", {},
       el("h2", { i18n: "sil.title" }),
       el("p", { className: "note", i18n: "sil.intro" }),
       el("div", { className: "bar" },
          opButton("cfg.reload", () => loadSilences(), { id: "sil-reload" })),
       opNote("sil-status"),
       opTable("sil-table", ["sil.h_rule", "sil.h_series", "sil.h_from", "sil.h_until",
                             "sil.h_by", "sil.h_comment", "sil.h_state", "sil.h_actions"])));
  sil.built = true;
}

function loadSilences() {
  return busy("silences", loadSilencesNow);
}
async function loadSilencesNow() {
  try {
    sil.items = await allItems("/api/v1/silences");
  } catch (e) {
    sayFailedLoad(document.getElementById("sil-status"), String(e));
    return;
  }
  renderSilences();
}

function silenceState(x) {
  const now = Date.now();
  if (new Date(x.ends_at).getTime() <= now) return "expired";
  if (new Date(x.starts_at).getTime() > now) return "pending";
  return "active";
}

function renderSilences() {
  const order = { active: 0, pending: 1, expired: 2 };
  const items = [...sil.items].sort((a, b) => order[silenceState(a)] - order[silenceState(b)] ||
                                              String(b.ends_at).localeCompare(String(a.ends_at)));
  fill("sil-table", items.map(x => {
    const state = silenceState(x);
    const actions = el("td", {});
    if (state !== "expired") {
      actions.appendChild(opButton("sil.expire", () => expireSilence(x), { className: "expire" }));
    }
    const any = v => v ? dataCell(v, "series") : wordCell(t("sil.any"), "note");
    return [any(x.rule), any(x.series), dataCell(formatTime(x.starts_at)),
            dataCell(formatTime(x.ends_at)), dataCell(x.created_by), dataCell(x.comment),
            wordCell(t("sil." + state), "sil-" + state), actions];
  }), 8, t("sil.none_yet"), (tr, i) => { tr.dataset.silence = items[i].id; });
}

async function expireSilence(x) {
  const note = document.getElementById("sil-status");
  const r = await send("DELETE", "/api/v1/silences/" + encodeURIComponent(x.id));
  if (!r.ok && r.status !== 404) {
    sayRefused(note, r);
    return;
  }
  sayDone(note, () => t("sil.expired_note") + " ", dataSpan(x.series || x.rule), ".");
  await loadSilences();
  refresh();
}

const USER_KEY = "gralarm.user";
let silenceDialog = null;

function buildSilenceDialog() {
  const radio = (name, value, key, checked) => {
    const r = el("input", { type: "radio", name, value, id: "sil-" + name + "-" + value });
    r.checked = !!checked;
    return el("label", { className: "check" }, r, el("span", { i18n: key }));
  };
  const until = el("input", { type: "datetime-local", id: "sil-until" });
  until.addEventListener("input", () => { document.getElementById("sil-duration-until").checked = true; });
  const d = el("dialog", { id: "sil-dialog", className: "op-dialog" },
    el("form", { id: "sil-form", noValidate: true },
       el("h2", { i18n: "sil.dialog_title" }),
       el("p", { translate: "no", className: "series" },
          el("span", { id: "sil-dialog-rule" }), el("br"), el("span", { id: "sil-dialog-series" })),
       el("fieldset", { className: "op-boxes" }, el("legend", { i18n: "sil.scope" }),
          radio("scope", "series", "sil.scope_series", true),
          radio("scope", "rule", "sil.scope_rule")),
       el("fieldset", { className: "op-boxes" }, el("legend", { i18n: "sil.duration" }),
          radio("duration", "1h", "sil.1h", true), radio("duration", "4h", "sil.4h"),
          radio("duration", "until", "sil.until"), until),
       field("sil.comment", el("input", { id: "sil-comment", size: 40 })),
       field("sil.created_by", el("input", { id: "sil-created-by", size: 20 })),
       el("div", { className: "actions" },
          el("button", { type: "submit", id: "sil-create", i18n: "sil.create" }),
          opButton("cfg.cancel", () => d.close(), { id: "sil-cancel" })),
       el("p", { id: "sil-dialog-error", className: "field-error", role: "alert" })));
  document.body.appendChild(d);
  d.querySelector("form").addEventListener("submit", ev => {
    ev.preventDefault();
    createSilence().catch(e => sayError(document.getElementById("sil-dialog-error"), String(e)));
  });
  return d;
}

// The note under "Active alerts" that confirms a silence.
function alertsNote() {
  let note = document.getElementById("sil-alert-status");
  if (!note) {
    note = opNote("sil-alert-status");
    document.getElementById("alerts-table").before(note);
  }
  return note;
}

function openSilenceDialog(a) {
  if (!silenceDialog) silenceDialog = buildSilenceDialog();
  silenceDialog.alert = a;
  document.getElementById("sil-dialog-rule").textContent = visible(String(a.rule_name || a.rule_id));
  document.getElementById("sil-dialog-series").textContent = visible(String(a.series));
  document.getElementById("sil-dialog-error").replaceChildren();
  document.getElementById("sil-scope-series").checked = true;
  document.getElementById("sil-duration-1h").checked = true;
  // The earliest end the browser offers: now, in its time zone.
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  document.getElementById("sil-until").min = now.toISOString().slice(0, 16);
  document.getElementById("sil-until").value = "";
  document.getElementById("sil-comment").value = "";
  let user = "";
  try { user = localStorage.getItem(USER_KEY) || ""; } catch (e) { user = ""; }
  document.getElementById("sil-created-by").value = user;
  silenceDialog.showModal();
  document.getElementById("sil-scope-series").focus();
}

async function createSilence() {
  const a = silenceDialog.alert;
  const errorEl = document.getElementById("sil-dialog-error");
  errorEl.replaceChildren();
  const duration = document.querySelector("#sil-form input[name=duration]:checked").value;
  let ends;
  if (duration === "until") {
    const v = document.getElementById("sil-until").value;
    ends = v ? new Date(v) : null;  // datetime-local: the browser's time zone
    if (!ends || isNaN(ends.getTime())) {
      sayWrong(errorEl, () => t("sil.need_until"));
      return;
    }
  } else {
    ends = new Date(Date.now() + (duration === "4h" ? 4 : 1) * 3600 * 1000);
  }
  const createdBy = document.getElementById("sil-created-by").value.trim();
  try { localStorage.setItem(USER_KEY, createdBy); } catch (e) { /* private mode */ }
  const body = { rule: a.rule_id, ends_at: ends.toISOString(), created_by: createdBy,
                 comment: document.getElementById("sil-comment").value.trim() };
  if (document.querySelector("#sil-form input[name=scope]:checked").value === "series") {
    body.series = a.series;
  }
  const r = await send("POST", "/api/v1/silences", body);
  if (!r.ok) {
    sayRefused(errorEl, r);
    return;
  }
  silenceDialog.close();
  const until = r.data.ends_at;
  sayDone(alertsNote(), dataSpan(body.series || a.rule_name || a.rule_id), ": ",
          () => t("sil.created", formatTime(until)));
  await refresh();
  if (sil.built) loadSilences();
}

ALERT_ROW_ACTIONS.push(a => {
  const b = opButton("sil.button", () => openSilenceDialog(a), { className: "silence" });
  return b;
});

// ---- Settings: GET /api/v1/settings, read-only.
function humanBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Number(n) || 0;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return v.toLocaleString(LANG === "es" ? "es-ES" : "en-GB", { maximumFractionDigits: u ? 1 : 0 }) +
         " " + units[u];
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
function daysText(days) {
  const idx = (days || []).map(d => DAYS.indexOf(String(d))).filter(i => i >= 0).sort((a, b) => a - b);
  if (idx.length === 7) return t("set.every_day");
  const contiguous = idx.length >= 3 && idx.every((v, i) => i === 0 || v === idx[i - 1] + 1);
  if (contiguous) return t("set.day_range", t("set.day." + DAYS[idx[0]]), t("set.day." + DAYS[idx[idx.length - 1]]));
  return idx.map(i => t("set.day." + DAYS[i])).join(", ");
}
function hoursText(from, to) {
  if ((from === "00:00" && (to === "24:00" || to === "00:00")) || (!from && !to)) return t("set.all_day");
  return t("set.hours", from, to);
}
function secondsCell(s) {
  return s ? dataCell(duration(Number(s))) : wordCell(t("set.never"));
}

function buildSettings() {
  document.getElementById("tab-settings").replaceChildren(
    el("section", {},
       el("h2", { i18n: "set.title" }),
       el("p", { className: "note", i18n: "set.intro" }),
       opNote("set-status"),
       el("div", { id: "set-body" })));
}

function kv(key, value, id) {
  return el("tr", {}, el("th", { i18n: key }), value instanceof Node ? el("td", { id }, value)
                                                                     : dataCell(value));
}

function loadSettingsScreen() {
  return busy("settings", loadSettingsScreenNow);
}
async function loadSettingsScreenNow() {
  const root = document.getElementById("set-body");
  const s = await loadSettings(true);
  const note = document.getElementById("set-status");
  if (!s) {
    sayFailedLoad(note, opSettings.error);
    return;
  }
  note.replaceChildren();
  renderSettings(root, s);
}

function renderSettings(root, s) {
  const word = key => el("span", { i18n: key });
  const general = el("table", { id: "set-general", className: "op-kv" }, el("tbody", {},
    kv("set.version", s.version),
    kv("set.node", s.node_id ? dataSpan(s.node_id) : word("set.no_node")),
    kv("set.store", s.store ? s.store.path : ""),
    kv("set.store_size", s.store && Number.isFinite(s.store.size_bytes)
                         ? humanBytes(s.store.size_bytes) : ""),
    kv("set.token", word(s.api && s.api.token_required ? "set.token_yes" : "set.token_no"))));
  const conn = opTable("set-connections", ["set.h_service", "set.h_url", "set.h_state", "set.h_message"]);
  const channels = opTable("set-channels", ["set.h_name", "set.h_type", "set.h_target",
                                            "set.h_phones", "set.h_repeat", "set.h_group",
                                            "set.h_rate"]);
  const schedules = opTable("set-schedules", ["set.h_name", "set.h_days", "set.h_hours", "set.h_tz"]);
  const cluster = el("div", { id: "set-cluster" });
  root.replaceChildren(
    el("h3", { i18n: "set.general" }), general,
    el("h3", { i18n: "set.connections" }), conn,
    el("h3", { i18n: "set.channels" }), channels,
    el("h3", { i18n: "set.schedules" }), schedules,
    el("h3", { i18n: "set.cluster" }), cluster);
  const stateCell = x => {
    const st = x && x.state ? String(x.state) : "off";
    return wordCell(t("set.state_" + (["ok", "error", "off"].includes(st) ? st : "error")),
                    st === "ok" ? "supported" : st === "error" ? "problem" : "");
  };
  fill("set-connections", [["Grafana", s.grafana], ["Graphite", s.graphite]].map(([name, x]) => [
    dataCell(name), dataCell(x ? x.url : ""), stateCell(x), dataCell(x ? x.message : "")]), 4, "");
  fill("set-channels", (s.channels || []).map(c => [
    dataCell(c.name), dataCell(c.type), dataCell(c.url || c.command || "", "series"),
    dataCell(c.phones ? c.phones : ""), secondsCell(c.repeat_interval_s),
    Array.isArray(c.group_by) ? dataCell(c.group_by.join(", ")) : wordCell(t("set.not_grouped")),
    c.max_per_minute ? dataCell(c.max_per_minute) : wordCell(t("set.unlimited"))]),
    7, t("set.no_channels"));
  fill("set-schedules", (s.schedules || []).map(x => [
    dataCell(x.name), wordCell(daysText(x.days)), wordCell(hoursText(x.from, x.to)),
    dataCell(x.timezone)]), 4, "");
  if (!s.cluster) {
    cluster.appendChild(el("p", { className: "note", i18n: "set.no_cluster" }));
  } else {
    cluster.appendChild(el("table", { className: "op-kv" }, el("tbody", {},
      kv("set.node", s.cluster.node_id),
      kv("set.active", word(s.cluster.active ? "cfg.yes" : "cfg.no")))));
    const peers = opTable("set-peers", ["set.h_peer", "set.h_up"]);
    cluster.appendChild(peers);
    fill("set-peers", (s.cluster.peers || []).map(p => [
      dataCell(p.api), wordCell(t(p.up ? "cfg.yes" : "cfg.no"), p.up ? "supported" : "problem")]),
      2, "");
  }
}

// ---- Help: the fields in an operator's words.
const HELP_TOPICS = ["thresholds", "checks_alert", "checks_ok", "margin", "schedule", "channels",
                     "templates", "silences", "nodata", "flapping", "forecast", "severity", "bulk",
                     "grafana"];
function buildHelp() {
  const dl = el("dl", { id: "help-list", className: "op-help" });
  for (const k of HELP_TOPICS) {
    dl.append(el("dt", { id: "help-" + k, i18n: "help." + k + ".t" }),
              el("dd", { i18n: "help." + k + ".d" }));
  }
  document.getElementById("tab-help").replaceChildren(
    el("section", {}, el("h2", { i18n: "help.title" }),
       el("p", { i18n: "help.intro" }), dl));
}

// ---- The screens, opened by showTab(); redrawn when the language changes.
const built = new Set();
function screen(name, build, load) {
  SCREENS[name] = {
    open() {
      if (!built.has(name)) { build(); built.add(name); }
      if (load) load().catch(e => document.getElementById("error").textContent = String(e));
    },
  };
}
screen("templates", buildTemplates, loadTemplates);
screen("configure", buildConfigure, loadConfigure);
screen("silences", buildSilences, loadSilences);
screen("settings", buildSettings, loadSettingsScreen);
screen("help", buildHelp, null);

// translateDom() has already changed every data-i18n text; what is drawn from
// data with words in it is drawn again.
LANG_LISTENERS.push(() => {
  redrawNotes();
  if (built.has("templates")) { renderTemplates(); renderRulesResult(); }
  if (built.has("configure")) { renderConfigure(); }
  if (built.has("silences")) renderSilences();
  if (built.has("settings") && opSettings.data) renderSettings(document.getElementById("set-body"), opSettings.data);
  if (silenceDialog) translateDom(silenceDialog);
});
})();
