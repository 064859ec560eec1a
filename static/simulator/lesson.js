// A lesson's steps on a page: which step is current, which are done, what to
// do next (always in view above the chat), and the button for a step the page
// does itself (a clock step, the quake, 読みました, 友だち追加, 番号を送る).  The state comes from the
// server (web/lessons.py); every word from data- attributes of the template.
//
//   const lesson = Tsunagari.lesson({ role, me, onAction });
//   lesson.update(state.lesson)
// role: "single" (one screen plays everyone), "teacher" (the projector) or
// "student" (one phone).  me(): the user id the page acts as, or null.
(() => {
  "use strict";

  function lesson({ role, me = () => null, onAction = () => {} }) {
    const list = document.getElementById("lesson-steps");
    const bar = document.getElementById("next-bar");
    const text = document.getElementById("next-text");
    const button = document.getElementById("next-do");
    const steps = list ? [...list.querySelectorAll("li[data-step]")] : [];
    let action = null;

    if (button) button.addEventListener("click", () => action && onAction(action, button));

    function waitingNames(progress, key) {
      const names = progress.learners.filter((l) => !l.done.includes(key)).map((l) => l.display_name);
      if (!names.length || names.length === progress.learners.length || !list.dataset.waiting) return "";
      const person = list.dataset.person || "{name}";
      return list.dataset.waiting.replace(
        "{names}",
        names.map((name) => person.replace("{name}", name)).join(list.dataset.separator || "、"),
      );
    }

    function update(progress) {
      if (!progress || !steps.length) return;
      const mine = progress.learners.find((l) => l.user_id === me());
      const current = role === "student" ? (mine ? mine.current : steps[0].dataset.step) : progress.current;
      const keys = steps.map((li) => li.dataset.step);
      const index = current ? keys.indexOf(current) : keys.length;
      for (const [i, li] of steps.entries()) {
        const key = li.dataset.step;
        const done = mine && role === "student" ? mine.done.includes(key) : i < index;
        li.classList.toggle("done", done);
        li.classList.toggle("current", key === current);
        li.querySelector(".mark").textContent = done ? "✓" : String(i + 1);
        if (key === current) li.setAttribute("aria-current", "step");
        else li.removeAttribute("aria-current");
      }
      const li = current ? steps[index] : null;
      const each = li && li.dataset.each === "true";
      let line = bar.dataset.finished;
      if (li) {
        line = role === "student" && !each ? li.dataset.wait : li.dataset.do;
        if (role === "teacher" && each) line = li.dataset.teacher || line;
        if (each && role !== "student") line += waitingNames(progress, current);
      }
      if (text.textContent !== line) text.textContent = line;
      bar.hidden = false;
      action = li ? li.dataset.action : null;
      document.body.dataset.action = action || "finished";
      document.body.dataset.step = current || "finished";
      // The button for a step the page does.  Students press 読みました; the
      // teacher (or whoever sits at one screen) moves the clock and starts the
      // quake, and need not wait for everyone: while the learners are on a
      // step of their own, the group's next step is already offered.
      let doing = null;
      if (li && role === "student" && each) doing = li;
      else if (li && role !== "student") {
        doing = each && role === "teacher" ? steps.slice(index + 1).find((s) => s.dataset.each === "false") : li;
        if (each && role === "single" && li.dataset.action !== "read") {
          doing = steps.slice(index + 1).find((s) => s.dataset.each === "false") || li;
        }
      }
      const pageDoes = doing && /^(advance:|quake$|read$|follow$|forward$)/.test(doing.dataset.action);
      button.hidden = !pageDoes;
      if (pageDoes) {
        button.textContent = doing.dataset.button;
        action = doing.dataset.action;
      }
    }

    return { update };
  }

  window.Tsunagari = { ...(window.Tsunagari || {}), lesson };
})();
