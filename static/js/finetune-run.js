// The fine-tune run page: a snapshot over the WebSocket, then live status and chart points as the
// training worker records them (loss per logging step; WER overall, uz and ru per evaluation).
import { openSocket } from "./lib/socket.js";

const root = document.getElementById("run");
const runId = root.dataset.run;
const state = JSON.parse(document.getElementById("run-payload").textContent);
const SVG = "http://www.w3.org/2000/svg";
const FINISHED = new Set(["done", "rejected", "failed", "cancelled"]);

function drawChart(svg, series) {
  // series: [{name, points: [[x, y], ...]}]; axes fit every point.
  svg.replaceChildren();
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return;
  const [w, h, pad] = [600, 200, 30];
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys, 1e-6)];
  const sx = (x) => pad + ((x - x0) / (x1 - x0)) * (w - 2 * pad);
  const sy = (y) => h - pad - ((y - y0) / (y1 - y0)) * (h - 2 * pad);
  const axis = document.createElementNS(SVG, "path");
  axis.setAttribute("d", `M${pad},${pad} V${h - pad} H${w - pad}`);
  axis.setAttribute("class", "axis");
  svg.append(axis);
  for (const [label, y] of [[y1.toFixed(2), pad + 4], [y0.toFixed(2), h - pad]]) {
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", 2);
    text.setAttribute("y", y);
    text.textContent = label;
    svg.append(text);
  }
  for (const s of series) {
    if (s.points.length === 0) continue;
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" "));
    line.setAttribute("class", `series series-${s.name}`);
    line.setAttribute("data-points", String(s.points.length));
    svg.append(line);
    // A dot per point: one evaluation is a single point, which a line cannot show.
    for (const [x, y] of s.points) {
      const dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("cx", sx(x));
      dot.setAttribute("cy", sy(y));
      dot.setAttribute("r", 3);
      dot.setAttribute("class", `dot series-${s.name}`);
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${s.name} step ${x}: ${y.toFixed(3)}`;
      dot.append(title);
      svg.append(dot);
    }
  }
}

function render() {
  document.getElementById("run-status").textContent = state.status;
  document.getElementById("run-status").className = `status status-${state.status}`;
  document.getElementById("run-step").textContent = state.step;
  document.getElementById("run-max-steps").textContent = state.max_steps;
  const percent = state.max_steps ? Math.round((100 * state.step) / state.max_steps) : 0;
  document.getElementById("run-bar").style.width = `${percent}%`;
  document.querySelector("[role=progressbar]").setAttribute("aria-valuenow", String(percent));
  const error = document.getElementById("run-error");
  error.textContent = state.error || "";
  error.hidden = !state.error;
  if (state.log_tail) document.getElementById("run-log").textContent = state.log_tail;
  const cancel = document.getElementById("cancel-form");
  if (cancel && FINISHED.has(state.status)) cancel.hidden = true;
  const loss = state.metrics.filter((m) => m.kind === "loss" && m.loss !== null);
  drawChart(document.getElementById("chart-loss"), [
    { name: "loss", points: loss.map((m) => [m.step, m.loss]) },
  ]);
  const evals = state.metrics.filter((m) => m.kind === "eval");
  drawChart(document.getElementById("chart-wer"), [
    ["all", "wer"], ["uz", "wer_uz"], ["ru", "wer_ru"],
  ].map(([name, key]) => ({
    name,
    points: evals.filter((m) => m[key] !== null).map((m) => [m.step, m[key]]),
  })));
}

openSocket(`/ws/training/runs/${runId}/`, {
  onMessage(message) {
    if (message.type === "finetune.snapshot") {
      Object.assign(state, message);
    } else if (message.type === "finetune.status") {
      const points = message.metrics || [];
      Object.assign(state, { ...message, metrics: state.metrics.concat(points) });
    }
    render();
  },
  reconnect: { when: () => !FINISHED.has(state.status) },
});
render();
