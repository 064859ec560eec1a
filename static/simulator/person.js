// The simulator's one-to-one page (web/people.py): each pane is one person's
// own chat with the bot, and acts only as that person.  The watched
// person's clock, the lesson's next step (友だち追加, 番号を送る, the clock
// steps) and the month's messages.  The chats themselves are chat.js, the
// steps lesson.js.  Words come from the template's data- attributes.
(() => {
  "use strict";

  const { chat, postJSON, showClockAndMonth, stateRefresher } = window.Tsunagari;
  const page = document.getElementById("person-page");
  const $ = (selector) => document.querySelector(selector);
  const $$ = (selector) => [...document.querySelectorAll(selector)];
  const COLOURS = ["#1d4ed8", "#9d174d", "#7c2d12"];

  const panes = $$(".chat").map((root, index) => {
    const form = root.querySelector(".composer");
    const who = { id: form.dataset.user, name: form.dataset.name };
    const status = root.querySelector(".chat-status");
    const tell = (text) => {
      status.textContent = text;
    };
    const face = root.querySelector(".pane-who .avatar");
    if (face) face.style.background = COLOURS[index % COLOURS.length];
    const pane = chat(root, { actor: () => who, tell, onChange: () => refresh() });
    const box = form.querySelector("input");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await pane.send(box.value.trim())) box.value = "";
    });
    for (const button of root.querySelectorAll("[data-insert]")) {
      button.addEventListener("click", () => {
        box.value = button.dataset.insert;
        box.focus();
      });
    }
    return { root, pane, tell, who };
  });
  const first = panes[0];

  function showState(state) {
    showClockAndMonth(state);
    for (const button of $$("[data-follow-user]")) button.hidden = Boolean(state.friends[button.dataset.followUser]);
    lesson.update(state.lesson);
  }

  const refresh = stateRefresher(page.dataset.state, showState);

  const pollAll = () => {
    for (const p of panes) p.pane.pollSoon();
    setTimeout(refresh, 1500);
  };

  const clockCard = $("#clock-now").closest(".card");
  async function moveClock(step, button) {
    button.disabled = true;
    try {
      const state = await postJSON(page.dataset.clock, { advance: step });
      showState(state);
      for (const p of panes) p.pane.divide(clockCard.dataset.moved.replace("{label}", state.clock.label));
      pollAll();
    } catch (error) {
      first.tell(`${clockCard.dataset.moveFailed}${error.message}`);
    } finally {
      button.disabled = false;
    }
  }
  for (const button of $$("[data-advance]")) {
    button.addEventListener("click", () => moveClock(button.dataset.advance, button));
  }

  async function follow(userId, button) {
    button.disabled = true;
    try {
      showState(await postJSON(page.dataset.follow, { user_id: userId }));
      pollAll();
    } catch (error) {
      first.tell(error.message);
    } finally {
      button.disabled = false;
    }
  }
  for (const button of $$("[data-follow-user]")) {
    button.addEventListener("click", () => follow(button.dataset.followUser, button));
  }

  async function act(action, button) {
    if (action.startsWith("advance:")) return moveClock(action.slice("advance:".length), button);
    if (action === "follow") return follow(page.dataset.chat, button);
    if (action !== "forward") return;
    button.disabled = true;
    try {
      showState(await postJSON(page.dataset.forward, {}));
      pollAll();
    } catch (error) {
      first.tell(error.message === "no-code" ? page.dataset.noCode : error.message);
    } finally {
      button.disabled = false;
    }
  }

  const lesson = Tsunagari.lesson({ role: page.dataset.role, me: () => first.who.id, onAction: act });

  for (const button of $$("[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }

  refresh();
  setInterval(refresh, 3000);
})();
