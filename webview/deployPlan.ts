import { element, option, valueOf } from './dom.js';
import type { PlanRow, PlanView, SecretChoice } from './messages.js';

/** Value of the picker entry that opens the secret form. */
const NEW_SECRET = '__new__';

/** What the plan table needs besides the plan: the chosen bindings and what to do when they change. */
export interface PlanTableOptions {
  readonly project: string;
  readonly bindings: Readonly<Record<string, string>>;
  /** Binds a variable to a handle, or unbinds it (undefined). */
  bind(variable: string, handle: string | undefined): void;
  /** Opens the secret form for a variable. */
  newSecret(row: PlanRow): void;
}

function statusText(row: PlanRow): string {
  switch (row.status) {
    case 'bound':
      return row.handle ? `secret ${row.handle}` : 'secret';
    case 'generate':
      return 'generated at deploy';
    case 'missing':
      return 'missing: bind a secret';
    case 'optional':
      return 'optional (compose default)';
    default:
      return row.rule ?? row.status;
  }
}

/** The secret picker of a user variable: not bound, "New secret…", then the vault's secrets (best matches first). */
function picker(row: PlanRow, secrets: readonly SecretChoice[], options: PlanTableOptions): HTMLElement {
  if (row.kind !== 'user') return element('span', { class: 'muted' }, ['—']);
  const chosen = options.bindings[row.name] ?? row.handle ?? '';
  const ordered = [...secrets].sort(
    (a, b) =>
      Number(b.name === row.name) - Number(a.name === row.name) ||
      Number(b.project === options.project) - Number(a.project === options.project) ||
      a.name.localeCompare(b.name),
  );
  return element(
    'vscode-single-select',
    {
      'aria-label': `Secret for ${row.name}`,
      'data-variable': row.name,
      onchange: (event) => {
        const value = valueOf(event.target as Element);
        if (value === NEW_SECRET) options.newSecret(row);
        else options.bind(row.name, value || undefined);
      },
    },
    [
      option('', '(not bound)', chosen === ''),
      option(NEW_SECRET, 'New secret…', false),
      ...ordered.map((secret) => option(secret.handle, `${secret.name} · ${secret.handle}${secret.project ? ` · ${secret.project}` : ''}`, secret.handle === chosen)),
    ],
  );
}

/** "New Secret…" beside a missing variable: opens the secret form with its name, type and project filled in. */
function newSecretButton(row: PlanRow, options: PlanTableOptions): HTMLElement {
  return element(
    'vscode-button',
    { secondary: true, 'aria-label': `New secret for ${row.name}`, 'data-new-secret': row.name, onclick: () => options.newSecret(row) },
    ['New Secret…'],
  );
}

/**
 * Fills the deploy panel's environment section: which files were read, whether every value resolves, and the
 * table of variables (name, kind, where the value comes from, the secret bound). Names and handles only.
 */
export function renderPlanSection(section: HTMLElement, plan: PlanView | undefined, secrets: readonly SecretChoice[], options: PlanTableOptions): void {
  if (!plan) {
    section.replaceChildren(element('p', { class: 'muted' }, ['Reading the project’s env templates…']));
    return;
  }
  if (plan.error) {
    section.replaceChildren(element('p', { class: 'status error', role: 'alert' }, [plan.error]));
    return;
  }
  const missing = plan.rows.filter((row) => row.status === 'missing').length;
  section.replaceChildren(
    element('p', { class: 'muted', id: 'plan-summary' }, [
      plan.files.length > 0 ? `From ${plan.files.join(', ')}. ` : 'No env template or compose file found. ',
      plan.ready ? 'Every value can be resolved.' : `${missing} variable${missing === 1 ? '' : 's'} need${missing === 1 ? 's' : ''} a secret.`,
    ]),
    element('vscode-table', { id: 'env-table', 'aria-label': 'Environment variables', zebra: true, 'bordered-rows': true, columns: '["22%", "12%", "30%", "36%"]' }, [
      element('vscode-table-header', { slot: 'header' }, ['Variable', 'Kind', 'Value from', 'Secret'].map((title) => element('vscode-table-header-cell', {}, [title]))),
      element(
        'vscode-table-body',
        { slot: 'body' },
        plan.rows.map((row) =>
          element('vscode-table-row', { 'data-variable': row.name, 'data-status': row.status }, [
            element('vscode-table-cell', {}, [element('code', {}, [row.name])]),
            element('vscode-table-cell', {}, [element('span', { class: 'badge' }, [row.kind])]),
            element('vscode-table-cell', { class: row.status === 'missing' ? 'status error' : '' }, [statusText(row)]),
            element('vscode-table-cell', {}, [
              element('div', { class: 'binding' }, [picker(row, secrets, options), ...(row.status === 'missing' ? [newSecretButton(row, options)] : [])]),
            ]),
          ]),
        ),
      ),
    ]),
  );
}
