// The auditor queue page: loads tasks from /api/v1/audit and records findings by keyboard.
// Plain script (no build step), served from /static so the page CSP can stay `script-src 'self'`.
// Every call sends the session's CSRF token in X-CSRF-Token; the server decides everything.
(function () {
  "use strict";
  var root = document.getElementById("audit");
  var csrf = root.getAttribute("data-csrf");
  var note = document.getElementById("audit-note");
  var current = null;
  var judged = null;  // the task just judged, undoable until the auditor goes on
  var busy = false;
  var zoom = 1;

  function $(id) { return document.getElementById(id); }

  function say(text) { $("audit-status").textContent = text; }

  function fail(text) {
    $("audit-error-text").textContent = text;
    $("audit-error").hidden = !text;
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

  function showClaim(claim, names) {
    var list = $("task-claim");
    list.textContent = "";
    names = names || {};
    [
      ["Student", claim.student_name + " (" + claim.state_student_id + "), born " + claim.birth_date],
      ["Credential", (names.credential ? names.credential + " (" + claim.credential_code + ")" : claim.credential_code) +
        ", earned " + claim.date_earned],
      ["School", (names.school ? names.school + " (" + claim.school_code + ")" : claim.school_code) +
        ", " + (names.district ? names.district + " (" + claim.district + ")" : "district " + claim.district) +
        ", year " + claim.school_year],
      ["Uploaded by", (names.uploaded_by || "the district's staff") + ", " + claim.created_at.slice(0, 10)],
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
      item.textContent = (f.decision ? f.decision + ": " : "") + f.outcome +
        (f.type ? ", " + f.type.replace(/_/g, " ") : "") + (f.note ? " (" + f.note + ")" : "");
      list.appendChild(item);
    });
    box.hidden = findings.length === 0;
  }

  // the step indicator (server-rendered by the `steps` macro) follows the task's stage:
  // first look, second review, decided, re-review of the district's answer
  function showStep(at) {
    var segments = $("task-steps").querySelectorAll(".usa-step-indicator__segment");
    segments.forEach(function (segment, index) {
      var label = segment.querySelector(".usa-step-indicator__segment-label");
      label.textContent = segment.getAttribute("data-step");
      segment.classList.toggle("usa-step-indicator__segment--complete", index < at);
      segment.classList.toggle("usa-step-indicator__segment--current", index === at);
      if (index === at) {
        segment.setAttribute("aria-current", "step");
        return;
      }
      segment.removeAttribute("aria-current");
      var said = document.createElement("span");
      said.className = "usa-sr-only";
      said.textContent = index < at ? "completed" : "not yet";
      label.append(" ", said);
    });
    $("task-steps").querySelector(".usa-step-indicator__current-step").textContent = at + 1;
    $("task-steps").querySelector(".usa-step-indicator__heading-text").textContent =
      segments[at].getAttribute("data-step");
  }

  function show(task) {
    current = task;
    $("audit-empty").hidden = task !== null;
    $("audit-task").hidden = task === null;
    if (task === null) {
      say("No task waiting.");
      return;
    }
    $("task-title").textContent = "Task " + task.id + " · " + (task.claim.student_name || "") +
      ", " + ((task.names && task.names.credential) || task.claim.credential_code);
    var stages = {
      1: "First look: verified (V) or a discrepancy (1-6, with a note).",
      2: "Second review: another auditor found a discrepancy. Confirm it (C) or overturn it (O).",
      3: "Re-review: the district answered this finding. Accept the answer (A) or keep the discrepancy (K)."
    };
    $("task-stage").textContent = stages[task.stage] || "";
    showStep([0, 0, 1, 3][task.stage] || 0);
    $("actions-first").hidden = task.stage !== 1;
    $("actions-second").hidden = task.stage !== 2;
    $("actions-third").hidden = task.stage !== 3;
    $("task-preview").src = "/evidence/" + encodeURIComponent(task.evidence_id) + "/preview";
    showClaim(task.claim, task.names);
    showVendor(task.vendor_records);
    showFindings(task.findings);
    showResponse(task.response);
    note.value = "";
    judged = null;
    $("task-judge").hidden = false;
    $("task-done").hidden = true;
    say("Task " + task.id + " loaded.");
  }

  function showResponse(response) {
    $("task-response").hidden = !response;
    if (!response) { return; }
    $("response-text").textContent = response.kind === "explanation"
      ? "Explanation, " + response.responded_at.slice(0, 10) + ": " + response.explanation
      : "A corrected certificate, sent " + response.responded_at.slice(0, 10) + ".";
    $("response-figure").hidden = !response.preview;
    if (response.preview) { $("response-preview").src = response.preview; }
  }

  // -- the full-size viewer: zoom with + and -, pan with the arrow keys or by dragging
  function openFull() {
    if (!current) { return; }
    var image = $("viewer-image");
    image.src = $("task-preview").src;
    zoom = 1;
    image.style.width = "";
    $("viewer-zoom").textContent = "100%";
    $("viewer").showModal();
    $("viewer-pane").focus();
  }

  function setZoom(factor) {
    var image = $("viewer-image");
    zoom = Math.min(4, Math.max(0.25, zoom * factor));
    image.style.width = Math.round(image.naturalWidth * zoom) + "px";
    $("viewer-zoom").textContent = Math.round(zoom * 100) + "%";
  }

  function viewerKey(event) {
    var pane = $("viewer-pane");
    var step = 80;
    var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      event.preventDefault();
      pane.scrollBy(moves[event.key][0], moves[event.key][1]);
    } else if (event.key === "+" || event.key === "=") {
      event.preventDefault();
      setZoom(1.25);
    } else if (event.key === "-") {
      event.preventDefault();
      setZoom(0.8);
    }
  }

  function loadNext() {
    say("Loading your next task…");
    return call("POST", "/api/v1/audit/tasks/next").then(function (data) { show(data.task); });
  }

  function finished(id, label) {
    judged = id;
    $("task-judge").hidden = true;
    $("task-done").hidden = false;
    $("done-text").textContent = "Recorded " + label + " on task " + id + ". Undo it, or go on to the next task.";
    $("next-task").focus();
    say("Recorded " + label + " on task " + id + ".");
  }

  function undo() {
    if (judged === null || busy) { return; }
    busy = true;
    var id = judged;
    call("POST", "/api/v1/audit/tasks/" + id + "/undo")
      .then(function () { return call("GET", "/api/v1/audit/tasks/" + id); })
      .then(function (task) { show(task); say("Your finding on task " + id + " is undone: judge it again."); })
      .catch(function (error) { fail(error.message); })
      .then(function () { busy = false; }, function () { busy = false; });
  }

  function next() {
    if (busy) { return; }
    busy = true;
    loadNext().catch(function (error) { fail(error.message); })
      .then(function () { busy = false; }, function () { busy = false; });
  }

  function record(outcome, type) {
    if (!current || busy || judged !== null) { return; }
    busy = true;
    fail("");
    var body = { outcome: outcome, type: type || null, note: note.value, version: current.version };
    var label = outcome + (type ? " (" + type.replace(/_/g, " ") + ")" : "");
    var id = current.id;
    var undoable = current.stage === 1;
    call("POST", "/api/v1/audit/tasks/" + id + "/findings", body)
      .then(function () {
        if (undoable) { finished(id, label); return null; }
        return loadNext().then(function () { say("Recorded " + label + " on task " + id + ". " + $("audit-status").textContent); });
      })
      .catch(function (error) {
        fail(error.message);
        if (error.status === 409) { return loadNext(); }
      })
      .then(function () { busy = false; }, function () { busy = false; });
  }

  document.addEventListener("keydown", function (event) {
    if ($("viewer").open) { viewerKey(event); return; }
    if (event.target === note) {
      if (event.key === "Escape") { note.blur(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.tagName === "INPUT") { return; }
    var key = event.key.toLowerCase();
    if (judged !== null) {
      if (key === "z") { event.preventDefault(); undo(); }
      if (key === "enter" && event.target.tagName !== "BUTTON") { event.preventDefault(); next(); }
      return;
    }
    if (key === "f") {
      event.preventDefault();
      openFull();
      return;
    }
    var stageButton = current ? root.querySelector('#actions-' + ["", "first", "second", "third"][current.stage] + ' button[data-shortcut="' + key + '"]') : null;
    if (stageButton) {
      event.preventDefault();
      record(stageButton.getAttribute("data-outcome"), stageButton.getAttribute("data-type"));
      return;
    }
    if (key === "n") {
      event.preventDefault();
      note.focus();
      return;
    }
    if (!current || current.stage !== 1) { return; }
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
    if (event.target.closest("#open-full, [data-open-full]")) { openFull(); }
    var zoomButton = event.target.closest("button[data-zoom]");
    if (zoomButton) { setZoom(zoomButton.getAttribute("data-zoom") === "in" ? 1.25 : 0.8); }
  });
  $("viewer-close").addEventListener("click", function () { $("viewer").close(); });
  $("next-task").addEventListener("click", next);
  $("undo-task").addEventListener("click", undo);
  (function dragToPan() {
    var pane = $("viewer-pane");
    var start = null;
    pane.addEventListener("pointerdown", function (event) {
      start = { x: event.clientX, y: event.clientY, left: pane.scrollLeft, top: pane.scrollTop };
      pane.setPointerCapture(event.pointerId);
    });
    pane.addEventListener("pointermove", function (event) {
      if (!start) { return; }
      pane.scrollLeft = start.left - (event.clientX - start.x);
      pane.scrollTop = start.top - (event.clientY - start.y);
    });
    pane.addEventListener("pointerup", function () { start = null; });
  })();

  loadNext().catch(function (error) { fail(error.message); say(""); });
})();
