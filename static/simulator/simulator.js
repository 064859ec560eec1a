// The simulator's group page (web/simulator.py): one screen plays every
// member.  Whom it acts as, the composer, the group's own clock, the lesson's
// next step and the month's messages.  The chat itself is chat.js; the
// lesson's steps lesson.js.  Words come from the template's data- attributes.
(() => {
  "use strict";

  const { chat, postJSON, showClockAndMonth, stateRefresher } = window.Tsunagari;
  const page = document.getElementById("group-page");
  const $ = (selector) => document.querySelector(selector);
  const $$ = (selector) => [...document.querySelectorAll(selector)];
  const status = $("#chat-status");
  const tell = (text) => {
    if (status) status.textContent = text;
  };

  // ---- who the page is acting as ----------------------------------------
  const actorInputs = $$('input[name="actor"]');
  const actorKey = `tsunagari-sim-actor:${page.dataset.group}`;
  const actorInput = () => actorInputs.find((input) => input.checked) || null;
  const actor = () => {
    const input = actorInput();
    return input ? { id: input.value, name: input.dataset.name } : null;
  };
  if (actorInputs.length && !actorInput()) {
    const saved = localStorage.getItem(actorKey);
    (actorInputs.find((input) => input.value === saved) || actorInputs[0]).checked = true;
  }

  const pane = chat(document.querySelector(".chat"), { actor, tell, onChange: () => refresh() });
  const box = $("#composer-text");
  const form = $(".composer");

  function showActor() {
    const current = actor();
    if (!current) return;
    // In a row that scrolls sideways, bring the chosen person into view.
    actorInput().parentElement.scrollIntoView({ block: "nearest", inline: "nearest" });
    localStorage.setItem(actorKey, current.id);
    if (box) box.placeholder = form.dataset.placeholderAs.replace("{name}", current.name);
  }
  showActor();
  for (const input of actorInputs) {
    const face = input.parentElement.querySelector(".avatar");
    face.style.background = ["#1d4ed8", "#9d174d", "#7c2d12", "#5b21b6", "#0f766e", "#92400e", "#334155"][
      actorInputs.indexOf(input) % 7
    ];
    input.addEventListener("change", () => {
      showActor();
      pane.redraw(); // whose messages are "mine" has changed
      refresh();
    });
  }

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

  // ---- the group's clock, the lesson, the month's messages ----------------
  const clockCard = $("#clock-now") && $("#clock-now").closest(".card");

  function showState(state) {
    showClockAndMonth(state);
    lesson.update(state.lesson);
  }

  const refresh = stateRefresher(page.dataset.state, showState);

  async function moveClock(step, button) {
    button.disabled = true;
    try {
      const state = await postJSON(page.dataset.clock, { advance: step });
      showState(state);
      pane.divide(clockCard.dataset.moved.replace("{label}", state.clock.label));
      pane.pollSoon();
      setTimeout(refresh, 1500);
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
      if (action === "quake") {
        showState(await postJSON(page.dataset.quake, {}));
        pane.pollSoon();
      } else if (action === "read") {
        const current = actor();
        if (current) showState(await postJSON(page.dataset.read, { user_id: current.id }));
      }
    } catch (error) {
      tell(error.message === "not-ready" ? page.dataset.quakeNotReady : error.message);
    } finally {
      button.disabled = false;
    }
  }

  const lesson = Tsunagari.lesson({ role: page.dataset.role, me: () => (actor() || {}).id, onAction: act });

  for (const button of $$("[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }

  refresh();
  setInterval(refresh, 3000);
})();
