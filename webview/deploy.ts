// @entry — the deploy panel webview, bundled to dist/webview/deploy.js.
import './elements.js';
import './forms.css';
import { Bridge } from './bridge.js';
import { element, formRow, valueOf } from './dom.js';
import { renderModulesSection } from './deployModules.js';
import { renderPlanSection } from './deployPlan.js';
import type { DeployForm, DeployInit, DeployPanelState, DeployRequests, PlanView, RunView, SecretChoice } from './messages.js';

let state: DeployPanelState | undefined;
let secrets: readonly SecretChoice[] = [];
let plan: PlanView | undefined;
let run: RunView | undefined;
let lines: string[] = [];
let planTimer: ReturnType<typeof setTimeout> | undefined;
let deploying = false;
const app = document.getElementById('app') as HTMLElement;
document.body.classList.add('wide');

const bridge = new Bridge<DeployInit, DeployRequests>({
  onInit: (init) => {
    // A page hidden and shown again starts over: its own saved form and bindings are newer than the extension's.
    const saved = bridge.restoreState<Partial<DeployPanelState>>();
    state = saved?.form && saved.bindings ? { form: saved.form, bindings: saved.bindings, runId: init.state.runId || (saved.runId ?? '') } : init.state;
    secrets = init.secrets;
    plan = init.plan;
    run = init.run;
    lines = [...init.lines];
    render(init.folder);
    if (state !== init.state) schedulePlan(0);
  },
  onEvent: (event, data) => {
    if (event === 'run') {
      run = data as RunView;
      if (state) save({ ...state, runId: run.id });
      renderRun();
    } else if (event === 'log') {
      const update = data as { runId: string; from: number; lines: string[] };
      if (update.runId !== run?.id) return;
      lines = [...lines.slice(0, update.from), ...update.lines];
      renderLog();
    } else if (event === 'secrets') {
      secrets = data as SecretChoice[];
      // A deploy creates infra secrets, and a new secret may match a variable by name: plan again.
      schedulePlan(300);
    } else if (event === 'bound') {
      const bound = data as { variable: string; handle: string };
      if (state) save({ ...state, bindings: { ...state.bindings, [bound.variable]: bound.handle } });
      schedulePlan(0);
    }
  },
});
bridge.ready();

function save(next: DeployPanelState): void {
  state = next;
  bridge.saveState(next);
}

function byId(id: string): HTMLElement | null {
  return document.getElementById(id);
}

function setStatus(text: string, kind: 'info' | 'error' | 'success' = 'info'): void {
  const status = byId('status');
  if (!status) return;
  status.textContent = text;
  status.className = `status ${kind}`;
}

function formField(id: keyof DeployForm, label: string, help?: string, type = 'text'): HTMLElement {
  const value = state?.form[id] ?? '';
  return formRow(
    id,
    label,
    element('vscode-textfield', {
      type,
      value,
      oninput: (event) => {
        if (!state) return;
        save({ ...state, form: { ...state.form, [id]: valueOf(event.target as Element).trim() } });
        if (id === 'project') schedulePlan(500);
      },
    }),
    help,
  );
}

function render(folder: string): void {
  app.replaceChildren(
    element('h1', {}, ['Deploy Project']),
    element('p', { class: 'lead' }, [folder ? `Deploys ${folder} to one of your servers.` : 'Open the project folder in VS Code to deploy it.']),
    element('form', { id: 'deploy-form', 'aria-label': 'Deploy settings', novalidate: true, onsubmit: (event) => void deploy(event) }, [
      element('div', { class: 'row' }, [
        formField('project', 'Project'),
        formField('repository', 'Repository', 'OWNER/REPO on GitHub'),
        formField('ref', 'Ref', 'Branch, tag or commit'),
      ]),
      element('h2', {}, ['Modules']),
      element('p', { class: 'muted' }, ['Each service your compose files publish on ${PORT} or ${NAME_PORT} is a module; the deploy gives each a port of its own.']),
      element('section', { id: 'modules', 'aria-label': 'Modules' }),
      element('h2', {}, ['Environment']),
      element('section', { id: 'plan', 'aria-label': 'Environment plan' }),
      element('div', { class: 'actions' }, [
        element('vscode-button', { id: 'deploy', onclick: (event) => void deploy(event) }, ['Deploy']),
        element('vscode-button', { id: 'cancel', secondary: true, hidden: true, onclick: () => void cancel() }, ['Cancel Deploy']),
        element('vscode-button', { id: 'replan', secondary: true, onclick: () => schedulePlan(0) }, ['Refresh Plan']),
      ]),
      element('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    ]),
    element('section', { id: 'run', 'aria-label': 'Deploy run' }),
  );
  renderPlan();
  renderRun();
  app.removeAttribute('aria-busy');
}

function schedulePlan(delay: number): void {
  clearTimeout(planTimer);
  planTimer = setTimeout(() => void refreshPlan(), delay);
}

async function refreshPlan(): Promise<void> {
  if (!state) return;
  try {
    plan = await bridge.request('plan', { form: state.form, bindings: state.bindings });
  } catch (error) {
    plan = { ready: false, files: [], rows: [], error: error instanceof Error ? error.message : String(error) };
  }
  renderPlan();
}

function renderPlan(): void {
  const modules = byId('modules');
  if (modules) renderModulesSection(modules, plan?.modules);
  // Without compose files there is nothing to deploy: the daemon would refuse, so the button waits for them.
  const deployButton = byId('deploy');
  if (plan?.modules?.notice?.kind === 'no-compose-file') deployButton?.setAttribute('disabled', '');
  else if (!deploying) deployButton?.removeAttribute('disabled');
  const section = byId('plan');
  if (!section || !state) return;
  const project = state.form.project;
  renderPlanSection(section, plan, secrets, {
    project,
    bindings: state.bindings,
    bind: (variable, handle) => {
      if (!state) return;
      const bindings = { ...state.bindings };
      if (handle) bindings[variable] = handle;
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a copy made just above, sent as a plain object
      else delete bindings[variable];
      save({ ...state, bindings });
      schedulePlan(0);
    },
    newSecret: (row) => {
      void bridge.request('newSecret', { variable: row.name, type: row.suggestedType ?? 'token', project });
      renderPlan();
    },
  });
}

function renderRun(): void {
  const section = byId('run');
  const cancelButton = byId('cancel');
  if (cancelButton) cancelButton.hidden = !run?.active;
  if (!section) return;
  if (!run) {
    section.replaceChildren();
    return;
  }
  const current = run;
  section.replaceChildren(
    element('h2', {}, [`Run ${current.id}: ${current.status}`]),
    ...(current.target ? [element('p', { class: 'muted' }, [`On ${current.target}`])] : []),
    element(
      'ul',
      { class: 'steps', 'aria-label': 'Deploy steps' },
      current.steps.map((step) => element('li', { 'data-state': step.status === 'succeeded' ? 'done' : step.status }, [`${stepMark(step.status)} ${step.title}${step.detail ? ` — ${step.detail}` : ''}`])),
    ),
    ...(current.error ? [element('p', { class: 'status error', role: 'alert' }, [current.error])] : []),
    ...(current.urls.length > 0
      ? [
          element('p', { id: 'result', class: 'status success' }, [
            'Deployed: ',
            ...current.urls.map((entry) => element('a', { href: '#', 'data-url': entry.url, onclick: (event) => (event.preventDefault(), void bridge.request('openUrl', { url: entry.url })) }, [`${entry.module} ${entry.url} `])),
          ]),
        ]
      : []),
    ...(current.release ? [element('p', { id: 'release', class: 'muted' }, [`Release ${current.release.name} recorded.`])] : []),
    element('div', { class: 'row' }, [
      element('vscode-button', { secondary: true, onclick: () => void bridge.request('openLog', { runId: current.id }) }, ['Open Log in Editor']),
      ...(current.release ? [element('vscode-button', { id: 'rollback', secondary: true, onclick: () => void rollback(current.release?.project ?? '') }, ['Roll Back…'])] : []),
    ]),
    element('pre', { id: 'log', class: 'log', role: 'log', 'aria-label': 'Deploy log', 'aria-live': 'off' }),
  );
  renderLog();
}

function stepMark(status: string): string {
  return status === 'succeeded' ? '✓' : status === 'failed' ? '✗' : status === 'running' ? '▶' : status === 'skipped' ? '–' : '○';
}

function renderLog(): void {
  const log = byId('log');
  if (!log) return;
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
  log.textContent = lines.length > 0 ? lines.join('\n') : 'Waiting for output…';
  if (atEnd) log.scrollTop = log.scrollHeight;
}

async function deploy(event: Event): Promise<void> {
  event.preventDefault();
  if (!state || deploying) return;
  deploying = true;
  const button = byId('deploy');
  button?.setAttribute('disabled', '');
  setStatus('Starting the deploy…');
  try {
    const { runId } = await bridge.request('deploy', { form: state.form, bindings: state.bindings });
    lines = [];
    save({ ...state, runId });
    setStatus(`Deploy ${runId} started.`, 'success');
    byId('run')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (error) {
    setStatus(error instanceof Error ? error.message : String(error), 'error');
  } finally {
    deploying = false;
    button?.removeAttribute('disabled');
  }
}

async function rollback(project: string): Promise<void> {
  if (!state || !project) return;
  try {
    const { runId } = await bridge.request('rollback', { project });
    if (!runId) return;
    lines = [];
    save({ ...state, runId });
    setStatus(`Rollback ${runId} started.`, 'success');
  } catch (error) {
    setStatus(error instanceof Error ? error.message : String(error), 'error');
  }
}

async function cancel(): Promise<void> {
  if (!run) return;
  try {
    await bridge.request('cancel', { runId: run.id });
    setStatus(`Cancelling ${run.id}…`);
  } catch (error) {
    setStatus(error instanceof Error ? error.message : String(error), 'error');
  }
}
