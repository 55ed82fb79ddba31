// The auditor queue page: loads tasks from /api/v1/audit and records findings by keyboard.
// Plain script (no build step), served from /static so the page CSP can stay `script-src 'self'`.
// Every call sends the session's CSRF token in X-CSRF-Token; the server decides everything.
(function () {
  "use strict";
  var root = document.getElementById("audit");
  var csrf = root.getAttribute("data-csrf");
  var note = document.getElementById("audit-note");
  var current = null;
  var busy = false;

  function $(id) { return document.getElementById(id); }

  function say(text) { $("audit-status").textContent = text; }

  function fail(text) {
    var box = $("audit-error");
    box.textContent = text;
    box.hidden = !text;
  }

  function call(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error((data.error && data.error.message) || ("HTTP " + response.status));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    row.appendChild(td);
  }

  function showClaim(claim) {
    var list = $("task-claim");
    list.textContent = "";
    [
      ["Student", claim.student_name + " (" + claim.state_student_id + "), born " + claim.birth_date],
      ["Credential", claim.credential_code + ", earned " + claim.date_earned],
      ["School", claim.school_code + ", district " + claim.district + ", year " + claim.school_year],
      ["Pathway", claim.graduation_pathway],
      ["Flags", claim.flags.length ? claim.flags.join(", ") : "none"]
    ].forEach(function (pair) {
      var dt = document.createElement("dt");
      var dd = document.createElement("dd");
      dt.textContent = pair[0];
      dd.textContent = pair[1];
      list.appendChild(dt);
      list.appendChild(dd);
    });
  }

  function showVendor(records) {
    var body = $("task-vendor").querySelector("tbody");
    body.textContent = "";
    records.forEach(function (r) {
      var row = document.createElement("tr");
      [r.vendor, r.credential_code + (r.matches_claim ? " (claimed)" : ""), r.exam_code,
        r.exam_date, (r.score === null ? "" : r.score) + " / " + (r.passing_score === null ? "" : r.passing_score),
        r.result, r.name + ", " + r.birth_date].forEach(function (value) { cell(row, value); });
      body.appendChild(row);
    });
    $("task-novendor").hidden = records.length > 0;
    $("task-vendor").hidden = records.length === 0;
  }

  function showFindings(findings) {
    var box = $("task-findings");
    var list = box.querySelector("ul");
    list.textContent = "";
    findings.forEach(function (f) {
      var item = document.createElement("li");
      item.textContent = f.outcome + (f.type ? ": " + f.type.replace(/_/g, " ") : "") +
        (f.note ? " (" + f.note + ")" : "");
      list.appendChild(item);
    });
    box.hidden = findings.length === 0;
  }

  function show(task) {
    current = task;
    $("audit-empty").hidden = task !== null;
    $("audit-task").hidden = task === null;
    if (task === null) {
      say("No task waiting.");
      return;
    }
    $("task-title").textContent = "Task " + task.id + " · school " + task.school_code;
    $("task-stage").textContent = task.stage === 2
      ? "Second review: confirm the first auditor's discrepancy (1-6) or overturn it (V)."
      : "First look: verified (V) or a discrepancy (1-6, with a note).";
    $("task-preview").src = "/evidence/" + encodeURIComponent(task.evidence_id) + "/preview";
    showClaim(task.claim);
    showVendor(task.vendor_records);
    showFindings(task.findings);
    note.value = "";
    say("Task " + task.id + " loaded.");
  }

  function loadNext() {
    say("Loading your next task…");
    return call("POST", "/api/v1/audit/tasks/next").then(function (data) { show(data.task); });
  }

  function record(outcome, type) {
    if (!current || busy) { return; }
    busy = true;
    fail("");
    var body = { outcome: outcome, type: type || null, note: note.value, version: current.version };
    var label = outcome + (type ? " (" + type.replace(/_/g, " ") + ")" : "");
    var id = current.id;
    call("POST", "/api/v1/audit/tasks/" + id + "/findings", body)
      .then(function () { return loadNext(); })
      .then(function () { say("Recorded " + label + " on task " + id + ". " + $("audit-status").textContent); })
      .catch(function (error) {
        fail(error.message);
        if (error.status === 409) { return loadNext(); }
      })
      .then(function () { busy = false; }, function () { busy = false; });
  }

  document.addEventListener("keydown", function (event) {
    if (event.target === note) {
      if (event.key === "Escape") { note.blur(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.tagName === "INPUT") { return; }
    var key = event.key.toLowerCase();
    if (key === "n") {
      event.preventDefault();
      note.focus();
      return;
    }
    if (key === "v") {
      record("verified");
      return;
    }
    var button = /^[1-9]$/.test(key) ? root.querySelector('button[data-key="' + key + '"]') : null;
    if (button) { record("discrepancy", button.getAttribute("data-type")); }
  });

  root.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-outcome]");
    if (button) { record(button.getAttribute("data-outcome"), button.getAttribute("data-type")); }
  });

  loadNext().catch(function (error) { fail(error.message); say(""); });
})();
