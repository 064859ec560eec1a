// Class mode (web/classroom.py): the projector page and each student's phone.
// Both poll the class's state: when the teacher starts a lesson or starts it
// again (a fresh group), every page follows.  The chat is chat.js, the steps
// lesson.js; words come from the template's data- attributes.
(() => {
  "use strict";

  const { chat, postJSON, el } = window.Tsunagari;
  const $ = (selector) => document.querySelector(selector);
  const $$ = (selector) => [...document.querySelectorAll(selector)];
  const projector = $("#projector");
  const phone = $("#phone-page");
  const page = projector || phone;
  const role = projector ? "teacher" : "student";
  const status = $("#chat-status");
  const tell = (text) => {
    if (status) status.textContent = text;
  };

  const me = projector
    ? { id: projector.dataset.teacher, name: projector.dataset.teacherName }
    : { id: phone.dataset.me, name: phone.dataset.name };
  const paneRoot = $(".chat");
  const pane = paneRoot ? chat(paneRoot, { actor: () => me, tell, onChange: () => refresh() }) : null;

  const form = $(".composer");
  const box = $("#composer-text");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await pane.send(box.value.trim())) box.value = "";
    });
  }
  for (const button of $$("[data-insert]")) {
    button.addEventListener("click", () => {
      box.value = button.dataset.insert;
      box.focus();
    });
  }
  for (const button of $$("[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }

  // ---- the projector: progress of every student ---------------------------
  function showProgress(progress) {
    const table = $("#progress");
    if (!table || !progress) return;
    const keys = [...table.querySelectorAll("thead th[data-step]")].map((th) => th.dataset.step);
    const d = projector.dataset;
    table.tBodies[0].replaceChildren(
      ...progress.learners.map((learner) => {
        const tr = el("tr");
        const name = el("th", null, learner.display_name);
        name.scope = "row";
        tr.append(name);
        const at = learner.current ? keys.indexOf(learner.current) : keys.length;
        for (const [i, key] of keys.entries()) {
          const done = learner.done.includes(key);
          const here = key === learner.current;
          const cell = el("td", done ? "done" : here ? "here" : i < at ? "passed" : "todo");
          cell.textContent = done ? "✓" : here ? "▶" : i < at ? d.passed : "";
          cell.setAttribute("aria-label", done ? d.done : here ? d.now : d.todo);
          tr.append(cell);
        }
        return tr;
      }),
    );
  }

  function showClock(clock) {
    const now = $("#clock-now");
    if (!now || !clock) return;
    now.textContent = clock.label;
    const ahead = $("#clock-ahead");
    ahead.textContent = clock.ahead ? ahead.dataset.ahead.replace("{ahead}", clock.ahead) : "";
  }

  function showState(state) {
    if ((state.group || "") !== page.dataset.group) {
      window.location.reload(); // a lesson started, or started again: a new group
      return;
    }
    if (state.lesson) lesson.update(state.lesson);
    showProgress(state.lesson);
    showClock(state.clock);
    const count = $("#student-count");
    if (count) count.textContent = String(state.students);
  }

  let refreshing = false;
  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
      const response = await fetch(page.dataset.state, { credentials: "same-origin" });
      if (response.status === 403) window.location.reload(); // the class restarted: join again
      else if (response.ok) showState(await response.json());
    } catch (error) {
      // The teacher's computer is busy or restarting; try again soon.
    } finally {
      refreshing = false;
    }
  }

  const clockCard = $("#clock-now") && $("#clock-now").closest(".card");
  async function moveClock(step, button) {
    button.disabled = true;
    try {
      const state = await postJSON(page.dataset.clock, { advance: step });
      showClock(state.clock);
      pane.divide(clockCard.dataset.moved.replace("{label}", state.clock.label));
      pane.pollSoon();
    } catch (error) {
      tell(`${clockCard.dataset.moveFailed}${error.message}`);
    } finally {
      button.disabled = false;
    }
  }
  for (const button of $$("[data-advance]")) {
    button.addEventListener("click", () => moveClock(button.dataset.advance, button));
  }

  async function act(action, button) {
    if (action.startsWith("advance:")) return moveClock(action.slice("advance:".length), button);
    button.disabled = true;
    try {
      if (action === "quake") await postJSON(page.dataset.quake, {});
      else if (action === "read") await postJSON(page.dataset.read, {});
      pane.pollSoon();
      refresh();
    } catch (error) {
      tell(error.message === "not-ready" ? page.dataset.quakeNotReady : error.message);
    } finally {
      button.disabled = false;
    }
  }

  const lesson = Tsunagari.lesson({ role, me: () => me.id, onAction: act });
  refresh();
  setInterval(refresh, 2000);
})();
