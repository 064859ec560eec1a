// The simulator page (emulator/simulator.py): draws the group's timeline as
// LINE would, sends what the chosen member does to the LINE emulator, moves
// the bot's demo clock, and runs the 練習モード script.  Plain JavaScript,
// no build step.  Message text only ever goes in through textContent.
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("sim-config").textContent);
  const GROUP = config.group; // null until a group exists
  const $ = (selector) => document.querySelector(selector);
  const $$ = (selector) => [...document.querySelectorAll(selector)];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || data.message || `HTTP ${response.status}`);
    return data;
  }

  function tell(text) {
    const status = $("#chat-status");
    if (status) status.textContent = text;
  }

  // ---- who the page is acting as ----------------------------------------

  const actorInputs = $$('input[name="actor"]');
  const actorKey = `tsunagari-sim-actor:${GROUP}`;

  function actor() {
    return actorInputs.find((input) => input.checked) || null;
  }

  function chooseInitialActor() {
    if (!actorInputs.length || actor()) return;
    const saved = localStorage.getItem(actorKey);
    (actorInputs.find((input) => input.value === saved) || actorInputs[0]).checked = true;
  }

  function showActor() {
    const current = actor();
    const input = $("#composer-text");
    if (current) {
      localStorage.setItem(actorKey, current.value);
      if (input) input.placeholder = `${current.dataset.name}さんとして入力`;
    }
  }

  // ---- drawing LINE messages --------------------------------------------

  // Flex sizes in LINE's px at a 16 px base; drawn in rem so they grow with the page.
  const FLEX_SIZE = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };
  const FLEX_SPACE = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
  const BUBBLE_WIDTH = { nano: 120, micro: 160, deca: 220, hecto: 241, kilo: 260, mega: 300, giga: 500 };
  const rem = (px) => `${px / 16}rem`;

  function flexLength(value) {
    if (value === undefined || value === null) return null;
    if (value in FLEX_SPACE) return rem(FLEX_SPACE[value]);
    return /^\d+(\.\d+)?px$/.test(value) ? rem(parseFloat(value)) : value; // "5%" stays
  }

  // Text on a coloured button: white when it passes WCAG AA (4.5:1), else
  // black.  LINE draws white on its green, which is only 2.3:1.
  function readableOn(hex) {
    const match = /^#([0-9a-f]{6})/i.exec(hex || "");
    if (!match) return "#fff";
    const channel = (i) => {
      const c = parseInt(match[1].slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    return 1.05 / (luminance + 0.05) >= 4.5 ? "#fff" : "#000";
  }

  function actionButton(action, className) {
    const button = el("button", className, action.label || action.displayText || "ボタン");
    button.type = "button";
    if (action.type === "postback") {
      const kind = new URLSearchParams(action.data || "").get("a");
      if (kind) button.dataset.a = kind; // lets 練習モード point at 参加する / OK
    }
    button.addEventListener("click", () => tap(action));
    return button;
  }

  function textStyle(node, c) {
    const size = FLEX_SIZE[c.size] || (/px$/.test(c.size || "") ? parseFloat(c.size) : null);
    if (size) node.style.fontSize = rem(size);
    if (c.weight === "bold") node.style.fontWeight = "700";
    if (c.color) node.style.color = c.color;
    if (c.style === "italic") node.style.fontStyle = "italic";
    if (c.decoration && c.decoration !== "none") node.style.textDecoration = c.decoration;
  }

  function flexComponent(c) {
    switch (c.type) {
      case "box":
        return flexBox(c);
      case "text": {
        const node = el("p", `flex-text ${c.wrap ? "wrap" : "nowrap"}`, c.contents ? null : c.text);
        for (const span of c.contents || []) {
          const part = el("span", null, span.text);
          textStyle(part, span);
          node.append(part);
        }
        textStyle(node, c);
        if (c.align) node.style.textAlign = { start: "left", center: "center", end: "right" }[c.align];
        return node;
      }
      case "button": {
        const style = c.style || "link";
        const button = actionButton(c.action, `flex-button ${style} ${c.height === "sm" ? "sm" : "md"}`);
        if (style === "link") {
          if (c.color) button.style.color = c.color;
        } else {
          const background = c.color || (style === "primary" ? "#17c950" : "#dcdfe5");
          button.style.backgroundColor = background;
          button.style.color = readableOn(background);
        }
        return button;
      }
      case "separator": {
        const line = el("hr", "flex-separator");
        if (c.color) line.style.borderTopColor = c.color;
        return line;
      }
      case "filler":
        return el("div", "flex-filler");
      case "image":
      case "icon":
      case "video":
        return el("div", "flex-image", c.type === "video" ? "（動画）" : "（画像）");
      default:
        return el("div");
    }
  }

  function flexBox(c) {
    const node = el("div", `flex-box ${c.layout || "vertical"}`);
    const vertical = (c.layout || "vertical") === "vertical";
    node.style.gap = flexLength(c.spacing) || "0";
    if (c.backgroundColor) node.style.backgroundColor = c.backgroundColor;
    if (c.cornerRadius) node.style.borderRadius = flexLength(c.cornerRadius);
    if (c.borderColor) node.style.border = `${flexLength(c.borderWidth) || "1px"} solid ${c.borderColor}`;
    for (const side of ["All", "Top", "Bottom", "Start", "End"]) {
      const value = flexLength(c[`padding${side}`]);
      if (!value) continue;
      if (side === "All") node.style.padding = value;
      else node.style[`padding${{ Start: "Left", End: "Right" }[side] || side}`] = value;
    }
    if (c.justifyContent) node.style.justifyContent = c.justifyContent;
    if (c.alignItems) node.style.alignItems = c.alignItems;
    for (const child of c.contents || []) {
      const part = flexComponent(child);
      // LINE's defaults: children of a horizontal box share the width (flex 1),
      // children of a vertical box take their natural height (flex 0).
      const grow = child.flex ?? (vertical ? 0 : 1);
      part.style.flex = grow ? `${grow} 1 0` : "0 0 auto";
      const margin = flexLength(child.margin);
      if (margin) part.style[vertical ? "marginTop" : "marginLeft"] = margin;
      node.append(part);
    }
    return node;
  }

  function flexBubble(b) {
    const node = el("div", "flex-bubble");
    node.style.width = rem(BUBBLE_WIDTH[b.size] || BUBBLE_WIDTH.mega);
    for (const block of ["header", "hero", "body", "footer"]) {
      if (!b[block]) continue;
      const part = flexComponent(b[block]);
      part.classList.add(`flex-${block}`);
      const background = b.styles && b.styles[block] && b.styles[block].backgroundColor;
      if (background) part.style.backgroundColor = background;
      node.append(part);
    }
    return node;
  }

  function templateCard(t) {
    const card = el("div", "bubble template");
    if (t.title) card.append(el("p", "template-title", t.title));
    if (t.text) card.append(el("p", "template-text", t.text));
    const actions = el("div", `template-actions ${t.type === "confirm" ? "confirm" : ""}`);
    for (const action of t.actions || []) actions.append(actionButton(action, "template-button"));
    card.append(actions);
    return card;
  }

  function messageNode(m) {
    if (m.type === "text") return el("div", "bubble text", m.text);
    if (m.type === "flex") {
      if (m.contents.type !== "carousel") return flexBubble(m.contents);
      const strip = el("div", "flex-carousel");
      for (const b of m.contents.contents) strip.append(flexBubble(b));
      return strip;
    }
    if (m.type === "template") {
      const t = m.template;
      if (t.type !== "carousel" && t.type !== "image_carousel") return templateCard(t);
      const strip = el("div", "flex-carousel");
      for (const column of t.columns) strip.append(templateCard({ ...column, actions: column.actions || [column.action] }));
      return strip;
    }
    if (m.type === "sticker") return el("div", "bubble text", "（スタンプ）");
    return el("div", "bubble text", m.altText || `（${m.type}）`);
  }

  const AVATAR_COLOURS = ["#1d4ed8", "#9d174d", "#7c2d12", "#5b21b6", "#0f766e", "#92400e", "#334155"];

  // Members get colours in the order they are listed, so neighbours differ.
  function colourOf(userId) {
    let index = actorInputs.findIndex((input) => input.value === userId);
    if (index < 0) index = [...(userId || "")].reduce((sum, ch) => sum + ch.charCodeAt(0), 0);
    return AVATAR_COLOURS[index % AVATAR_COLOURS.length];
  }

  function avatar(item) {
    if (item.sender === "bot") return el("span", "avatar bot", "つ");
    const node = el("span", "avatar", (item.display_name || "?").slice(0, 1));
    node.style.background = colourOf(item.user_id);
    return node;
  }

  // ``previous``: the item drawn just before, to show a sender's face once per run.
  function row(item, previous) {
    const current = actor();
    const mine = item.sender === "user" && current && item.user_id === current.value;
    const more = previous && previous.sender === item.sender && previous.user_id === item.user_id;
    const node = el("div", `msg ${mine ? "mine" : "theirs"}${more ? " more" : ""}`);
    node.dataset.seq = item.seq;
    node.dataset.sender = item.sender;
    const column = el("div", "col");
    if (mine) {
      column.append(el("span", "visually-hidden", `${item.display_name}（あなた）：`));
    } else {
      const face = avatar(item);
      face.setAttribute("aria-hidden", "true");
      node.append(face);
      column.append(el("span", more ? "visually-hidden" : "name", item.display_name));
    }
    column.append(messageNode(item.message));
    node.append(column);
    return node;
  }

  // ---- the timeline -------------------------------------------------------

  const log = $("#messages");
  const items = [];
  // Clock moves, drawn between messages: {after: seq, text}.  Kept in the
  // browser so that a reload still shows where the time jumped.
  const dividersKey = `tsunagari-sim-dividers:${GROUP}`;
  const dividers = JSON.parse(localStorage.getItem(dividersKey) || "[]");
  let lastSeq = 0;
  let polling = false;

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 120;
  }

  function redraw() {
    const nodes = [];
    let d = 0;
    let previous = null;
    for (const item of items) {
      while (d < dividers.length && dividers[d].after < item.seq) {
        nodes.push(el("p", "divider", dividers[d++].text));
        previous = null;
      }
      nodes.push(row(item, previous));
      previous = item;
    }
    while (d < dividers.length) nodes.push(el("p", "divider", dividers[d++].text));
    log.replaceChildren(...nodes);
    log.scrollTop = log.scrollHeight;
  }

  async function poll() {
    if (!GROUP || polling) return;
    polling = true;
    try {
      const response = await fetch(`${config.api}/_sim/groups/${GROUP}/timeline?after=${lastSeq}`);
      if (!response.ok) return;
      const fresh = (await response.json()).items;
      if (!fresh.length) return;
      const first = lastSeq === 0;
      const follow = nearBottom();
      for (const item of fresh) {
        if (!first) {
          const previous = log.lastElementChild && log.lastElementChild.matches(".msg") ? items.at(-1) : null;
          log.append(row(item, previous));
        }
        items.push(item);
        lastSeq = Math.max(lastSeq, item.seq);
      }
      if (first) redraw(); // the whole history, with any clock dividers
      else if (follow) log.scrollTop = log.scrollHeight;
      practice.update();
      // A push (a summary, a scheduled check) counts towards the month's messages.
      if (fresh.some((item) => item.via === "push")) refreshStatus();
    } catch (error) {
      // The server is restarting or gone; the next poll tries again.
    } finally {
      polling = false;
    }
  }

  // After an action the bot answers within a second or two: look more often.
  function pollSoon() {
    for (const ms of [200, 500, 900, 1400, 2000, 3000]) setTimeout(poll, ms);
  }

  // ---- what the member does -----------------------------------------------

  async function tap(action) {
    const current = actor();
    if (!current) {
      tell("先に「いま操作している人」を選んでください。");
      return;
    }
    try {
      if (action.type === "postback") {
        await postJSON(`${config.api}/_sim/groups/${GROUP}/postback`, {
          user_id: current.value,
          data: action.data,
          display_text: action.displayText || null,
        });
      } else if (action.type === "message") {
        await postJSON(`${config.api}/_sim/groups/${GROUP}/text`, { user_id: current.value, text: action.text });
      } else if (action.type === "uri" && /^(https?|tel):/.test(action.uri)) {
        window.open(action.uri, "_blank", "noopener");
        return;
      } else {
        tell("このボタンはシミュレーターでは使えません。");
        return;
      }
      tell(`${current.dataset.name}さんとして「${action.label}」を押しました。`);
      pollSoon();
    } catch (error) {
      tell(`押せませんでした：${error.message}`);
    }
  }

  async function send(event) {
    event.preventDefault();
    const input = $("#composer-text");
    const text = input.value.trim();
    const current = actor();
    if (!text || !current) return;
    try {
      await postJSON(`${config.api}/_sim/groups/${GROUP}/text`, { user_id: current.value, text });
      input.value = "";
      tell("");
      pollSoon();
    } catch (error) {
      tell(`送れませんでした：${error.message}`);
    }
  }

  // ---- the bot's clock and the month's messages ----------------------------

  function showStatus(status) {
    $("#clock-now").textContent = status.clock.label;
    $("#clock-ahead").textContent = status.clock.ahead ? `実際より${status.clock.ahead}進んでいます` : "";
    $("#usage-total").textContent = status.usage.total.toLocaleString("ja-JP");
    $("#plans").replaceChildren(
      ...status.plans.map((plan) => {
        const li = el("li", `plan ${plan.fits ? "fits" : "over"}`);
        li.append(
          el("strong", null, plan.name),
          el("span", "terms", plan.terms),
          el("span", "verdict", `${plan.fits ? "✓" : "✕"} ${plan.verdict}`),
        );
        return li;
      }),
    );
  }

  async function refreshStatus() {
    try {
      const response = await fetch(config.status_url);
      if (response.ok) showStatus(await response.json());
    } catch (error) {
      // Try again on the next round.
    }
  }

  async function moveClock(button) {
    button.disabled = true;
    try {
      const status = await postJSON(config.clock_url, { advance: button.dataset.advance });
      showStatus(status);
      if (log) {
        dividers.push({ after: lastSeq, text: `${status.clock.label} まで時計を進めました` });
        localStorage.setItem(dividersKey, JSON.stringify(dividers));
        redraw();
      }
      tell(`時計を進めました（${status.clock.label}）。`);
      pollSoon();
    } catch (error) {
      tell(`時計を進められませんでした：${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  // ---- 練習モード: the next step, read off the timeline ---------------------

  const practice = (() => {
    const panel = $("#practice");
    const toggle = $("#practice-toggle");
    const readButton = $("#practice-read");
    const key = "tsunagari-sim-practice";
    const readKey = `tsunagari-sim-read:${GROUP}`;

    const textOf = (message) => {
      const found = [];
      (function walk(node) {
        if (Array.isArray(node)) node.forEach(walk);
        else if (node && typeof node === "object") {
          if (typeof node.text === "string") found.push(node.text);
          Object.values(node).forEach(walk);
        }
      })(message);
      return found.join("\n");
    };
    const isPrompt = (item) =>
      item.sender === "bot" && /"data":"a=ok&/.test(JSON.stringify(item.message));
    const botSaid = (pattern, from = 0) =>
      items.slice(from).find((item) => item.sender === "bot" && pattern.test(textOf(item.message)));
    const lastPrompt = () => items.map(isPrompt).lastIndexOf(true);
    const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const notJoined = () =>
      actorInputs
        .map((input) => input.dataset.name)
        .filter((name) => !botSaid(new RegExp(`${escape(name)}さん(、参加ありがとう|は参加済み)`)));
    const summary = () => {
      const prompt = lastPrompt();
      return prompt < 0 ? null : botSaid(/無事がまだ確認できていません|全員の無事が確認できました/, prompt);
    };

    // In order; the first step not done is the one to do next.
    const steps = {
      group: () => Boolean(GROUP),
      join: () => actorInputs.length > 0 && notJoined().length === 0,
      check: () => lastPrompt() >= 0,
      ok: () => Boolean(botSaid(/確認しました/, lastPrompt())) || Boolean(summary()),
      advance: () => Boolean(summary()),
      read: () => Boolean(summary()) && localStorage.getItem(readKey) === String(summary().seq),
    };

    function update() {
      const on = !panel.hidden;
      document.body.classList.toggle("practice-on", on);
      if (!on) return;
      const current = Object.keys(steps).find((name) => !steps[name]());
      document.body.dataset.step = current || "finished";
      for (const li of panel.querySelectorAll("li[data-step]")) {
        const name = li.dataset.step;
        const done = !current || Object.keys(steps).indexOf(name) < Object.keys(steps).indexOf(current);
        li.classList.toggle("done", done);
        li.classList.toggle("current", name === current);
        li.querySelector(".mark").textContent = done ? "✓" : String(Object.keys(steps).indexOf(name) + 1);
        if (name === current) li.setAttribute("aria-current", "step");
        else li.removeAttribute("aria-current");
      }
      let next = panel.querySelector(".steps").dataset.finished;
      if (current) {
        const li = panel.querySelector(`li[data-step="${current}"]`);
        const needsLeader = current === "check" && !botSaid(/リーダーになりました|すでにリーダーです|リーダーにしました/);
        next = needsLeader ? li.dataset.nextLeader : li.dataset.next;
        const waiting = notJoined();
        if (current === "join" && waiting.length < actorInputs.length) {
          next += `（まだの人：${waiting.map((name) => `${name}さん`).join("、")}）`;
        }
      }
      const line = $("#practice-next");
      if (line.textContent !== next) line.textContent = next;
      readButton.hidden = current !== "read";
    }

    function show(on) {
      panel.hidden = !on;
      toggle.setAttribute("aria-pressed", String(on));
      localStorage.setItem(key, on ? "1" : "0");
      update();
    }

    toggle.addEventListener("click", () => show(panel.hidden));
    readButton.addEventListener("click", () => {
      const done = summary();
      if (done) localStorage.setItem(readKey, String(done.seq));
      update();
    });
    show(localStorage.getItem(key) === "1");
    return { update };
  })();

  // ---- wiring ---------------------------------------------------------------

  chooseInitialActor();
  showActor();
  for (const input of actorInputs) input.parentElement.querySelector(".avatar").style.background = colourOf(input.value);
  for (const input of actorInputs) {
    input.addEventListener("change", () => {
      showActor();
      redraw(); // whose messages are "mine" has changed
    });
  }
  const composer = $("#composer");
  if (composer) composer.addEventListener("submit", send);
  for (const button of $$("[data-insert]")) {
    button.addEventListener("click", () => {
      const input = $("#composer-text");
      input.value = button.dataset.insert;
      input.focus();
    });
  }
  for (const button of $$("[data-advance]")) button.addEventListener("click", () => moveClock(button));

  if (log) {
    poll();
    setInterval(poll, 1000);
  }
  setInterval(refreshStatus, 5000);
})();
