// A chat pane: one LINE chat (a group's, or later a person's one-to-one
// chat with the bot) drawn as LINE draws it, kept up to date by polling, and
// the taps and texts of whoever the page acts as.  Used by the simulator's
// group page, the class projector and each student's phone.  Plain
// JavaScript, no build step; message text only ever goes in through
// textContent, and every word of the page's own comes from data- attributes
// of the pane (the templates hold them, for translation).
//
//   Tsunagari.chat(element, {
//     actor: () => ({id, name}) | null,   // who taps and types
//     onChange: (items) => {},            // after new messages arrived
//     tell: (text) => {},                 // a status line for the person
//   })
// The element carries data-timeline, data-text and data-postback URLs.
(() => {
  "use strict";

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
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || data.message || `HTTP ${response.status}`);
    return data;
  }

  function chat(root, options) {
    const texts = { ...root.dataset };
    const log = root.querySelector(".messages");
    const actor = options.actor || (() => null);
    const tell = options.tell || (() => {});
    const memberOrder = (root.dataset.members || "").split(" ").filter(Boolean);
    const items = [];
    // Clock moves, drawn between messages: {after: seq, text}.  Kept in the
    // browser so that a reload still shows where the time jumped.
    const dividersKey = `tsunagari-sim-dividers:${root.dataset.chat}`;
    const dividers = JSON.parse(localStorage.getItem(dividersKey) || "[]");
    let lastSeq = 0;
    let polling = false;
    let loaded = false;

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
      const button = el("button", className, action.label || action.displayText || texts.button);
      button.type = "button";
      if (action.type === "postback") {
        const kind = new URLSearchParams(action.data || "").get("a");
        if (kind) button.dataset.a = kind; // lets 練習モード point at 参加する / OK
      }
      button.addEventListener("click", () => tap(action, button));
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
          return el("div", "flex-image", c.type === "video" ? texts.video : texts.image);
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
      if (m.type === "sticker") return el("div", "bubble text", texts.sticker);
      return el("div", "bubble text", m.altText || `（${m.type}）`);
    }

    const AVATAR_COLOURS = ["#1d4ed8", "#9d174d", "#7c2d12", "#5b21b6", "#0f766e", "#92400e", "#334155"];

    // Members get colours in the order they are listed, so neighbours differ.
    function colourOf(userId) {
      let index = memberOrder.indexOf(userId);
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
      const mine = item.sender === "user" && current && item.user_id === current.id;
      const more = previous && previous.sender === item.sender && previous.user_id === item.user_id;
      const node = el("div", `msg ${mine ? "mine" : "theirs"}${more ? " more" : ""}`);
      node.dataset.seq = item.seq;
      node.dataset.sender = item.sender;
      const column = el("div", "col");
      if (mine) {
        column.append(el("span", "visually-hidden", `${item.display_name}${texts.you}`));
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

    function nearBottom() {
      return log.scrollHeight - log.scrollTop - log.clientHeight < 160;
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
      if (polling) return;
      polling = true;
      try {
        const response = await fetch(`${root.dataset.timeline}?after=${lastSeq}`, { credentials: "same-origin" });
        if (!response.ok) return;
        const fresh = (await response.json()).items;
        if (!fresh.length && loaded) return;
        const first = !loaded;
        loaded = true;
        const follow = nearBottom();
        for (const item of fresh) {
          if (!first) {
            const previous = log.lastElementChild && log.lastElementChild.matches(".msg") ? items.at(-1) : null;
            log.append(row(item, previous));
          }
          items.push(item);
          lastSeq = Math.max(lastSeq, item.seq);
        }
        // New messages always come into view: a summary must not arrive unseen.
        if (first) redraw();
        else if (follow || fresh.some((item) => item.sender === "bot")) log.scrollTop = log.scrollHeight;
        root.dataset.loaded = "true";
        if (options.onChange) options.onChange(items, fresh);
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

    async function tap(action, button) {
      const current = actor();
      if (!current) {
        tell(texts.needActor);
        return;
      }
      try {
        if (action.type === "postback") {
          await postJSON(root.dataset.postback, {
            user_id: current.id,
            data: action.data,
            display_text: action.displayText || null,
          });
        } else if (action.type === "message") {
          await postJSON(root.dataset.text, { user_id: current.id, text: action.text });
        } else if (action.type === "uri" && /^(https?|tel):/.test(action.uri)) {
          window.open(action.uri, "_blank", "noopener");
          return;
        } else {
          tell(texts.cannotTap);
          return;
        }
        tell(texts.tapped.replace("{name}", current.name).replace("{label}", action.label || ""));
        pollSoon();
      } catch (error) {
        tell(`${texts.tapFailed}${error.message}`);
      }
    }

    async function send(text) {
      const current = actor();
      if (!text || !current) return false;
      try {
        await postJSON(root.dataset.text, { user_id: current.id, text });
        tell("");
        pollSoon();
        return true;
      } catch (error) {
        tell(`${texts.sendFailed}${error.message}`);
        return false;
      }
    }

    function divide(text) {
      dividers.push({ after: lastSeq, text });
      localStorage.setItem(dividersKey, JSON.stringify(dividers));
      redraw();
    }

    // Keep the newest message in view when the pane changes size (the next
    // step's line grows, the phone turns, the keyboard opens) if it was.
    let stick = true;
    log.addEventListener("scroll", () => {
      stick = nearBottom();
    });
    new ResizeObserver(() => {
      if (stick) log.scrollTop = log.scrollHeight;
    }).observe(log);

    poll();
    setInterval(poll, 1000);
    return { items, redraw, send, pollSoon, divide, poll };
  }

  // The side cards the group page and the one-to-one page share: the
  // clock (#clock-now, #clock-ahead) and the month's messages (#usage-total,
  // #plans), from the page's state.
  function showClockAndMonth(state) {
    document.querySelector("#clock-now").textContent = state.clock.label;
    const ahead = document.querySelector("#clock-ahead");
    ahead.textContent = state.clock.ahead ? ahead.dataset.ahead.replace("{ahead}", state.clock.ahead) : "";
    document.querySelector("#usage-total").textContent = state.usage.total.toLocaleString("ja-JP");
    document.querySelector("#plans").replaceChildren(
      ...state.plans.map((plan) => {
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

  // refresh(): fetch the page's state from ``url`` and hand it to ``show``;
  // one fetch at a time, a failure waits for the next call.
  function stateRefresher(url, show) {
    let refreshing = false;
    return async function refresh() {
      if (refreshing) return;
      refreshing = true;
      try {
        const response = await fetch(url);
        if (response.ok) show(await response.json());
      } catch (error) {
        // Try again on the next round.
      } finally {
        refreshing = false;
      }
    };
  }

  window.Tsunagari = { ...(window.Tsunagari || {}), chat, postJSON, el, showClockAndMonth, stateRefresher };
})();
