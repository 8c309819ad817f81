// @entry — the secret form webview, bundled to dist/webview/secretForm.js.
import './elements.js';
import './forms.css';
import { Bridge, RequestFailed } from './bridge.js';
import { element, formRow, option, setValue, valueOf } from './dom.js';
import type { Choice, SecretDraft, SecretFormInit, SecretFormRequests } from './messages.js';
import { guessSecretKind } from './secretGuess.js';

/**
 * The page keeps the draft (non-secret fields) in memory and in webview state; value, passphrase and file
 * contents live only in their input fields until Save sends them, and the fields are emptied right after.
 */
let init: SecretFormInit | undefined;
let draft: SecretDraft | undefined;
/** Set once the person picks a type or category themselves: the name no longer decides them. */
const chosen = { type: false, category: false };
/** The project select's choice that opens a text field for a project Zavhoz does not know yet. */
const NEW_PROJECT = '\u0000new';
const app = document.getElementById('app') as HTMLElement;

const bridge = new Bridge<SecretFormInit, SecretFormRequests>({
  onInit: (state) => {
    init = state;
    // A page hidden and shown again starts over: its own saved draft is newer than the extension's.
    const saved = bridge.restoreState<{ draft?: SecretDraft }>()?.draft;
    draft = saved && saved.mode === state.draft.mode && saved.handle === state.draft.handle ? saved : state.draft;
    render();
  },
});
bridge.ready();

function update(change: Partial<SecretDraft>): void {
  if (!draft) return;
  draft = { ...draft, ...change };
  // Only the draft, never a field's value.
  bridge.saveState({ draft });
}

/** The option a select's change picked, as one of the values the extension offered. */
function picked<V extends string>(choices: readonly Choice<V>[], event: Event): V | undefined {
  const value = valueOf(event.target as Element);
  return choices.find((choice) => choice.value === value)?.value;
}

function field(id: string): Element | null {
  return document.getElementById(id);
}

function setStatus(text: string, kind: 'info' | 'error' | 'success' = 'info'): void {
  const status = field('status');
  if (!status) return;
  status.textContent = text;
  status.className = `status ${kind}`;
  field('saved')?.replaceChildren();
}

/** The form's element ids of the request fields whose names differ. */
const FIELD_IDS: Readonly<Record<string, string>> = { expiresAt: 'expires', rotationDays: 'rotation', location: 'storage' };

/** Shows an error under the field it is about (marked invalid for screen readers too); false if no such field. */
function showFieldError(requestField: string, text: string): boolean {
  const id = FIELD_IDS[requestField] ?? requestField;
  const group = document.querySelector(`[data-field="${CSS.escape(id)}"]`);
  if (!group) return false;
  const control = field(id);
  control?.setAttribute('invalid', '');
  control?.setAttribute('aria-invalid', 'true');
  const error = element('vscode-form-helper', { class: 'field-error', id: `${id}-error`, role: 'alert' }, [text]);
  group.append(error);
  error.scrollIntoView({ block: 'center' });
  return true;
}

function clearFieldErrors(): void {
  for (const error of document.querySelectorAll('.field-error')) error.remove();
  for (const control of document.querySelectorAll('[aria-invalid]')) {
    control.removeAttribute('invalid');
    control.removeAttribute('aria-invalid');
  }
}

/** An error for the person: next to its field when it names one, in the status line otherwise. */
function showError(error: unknown): void {
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof RequestFailed && error.field !== undefined && showFieldError(error.field, text)) {
    setStatus('Not saved: see the field above.', 'error');
    return;
  }
  setStatus(text, 'error');
}

/** "Saved NAME as sec_…" with a button that copies the handle (the only thing to keep from a save). */
function showSaved(text: string, handle: string): void {
  setStatus(text, 'success');
  const copy = element('vscode-button', { id: 'copy-handle', secondary: true, icon: 'copy', onclick: () => void copyHandle(handle) }, ['Copy Handle']);
  field('saved')?.replaceChildren(copy);
  // The form is long and was just drawn again: once its components have laid out, bring the confirmation into view
  // (it is what the person waits for after Save).
  setTimeout(() => field('status')?.scrollIntoView({ block: 'center' }), 100);
}

async function copyHandle(handle: string): Promise<void> {
  await bridge.request('copyHandle', { handle });
  const button = field('copy-handle');
  if (button) button.textContent = 'Copied';
}

/** Type and category follow the name until the person picks them. */
function applyGuess(name: string): void {
  const guess = guessSecretKind(name);
  const hint = field('guess');
  if (hint) hint.textContent = guess ? `${guess.reason}: type and category picked for you; change them if not.` : '';
  if (!guess || !draft) return;
  const change: { type?: SecretDraft['type']; category?: SecretDraft['category'] } = {};
  if (!chosen.type && draft.type !== guess.type) change.type = guess.type;
  if (!chosen.category && draft.category !== guess.category) change.category = guess.category;
  if (change.type === undefined && change.category === undefined) return;
  update({ ...change, ...(change.type ? { generate: false } : {}) });
  if (change.type) selectOption('type', change.type);
  if (change.category) selectOption('category', change.category);
  if (change.type) renderValueSection();
}

function selectOption(id: string, value: string): void {
  setValue(field(id), value);
}

function render(): void {
  if (!init || !draft) return;
  const state = init;
  const current = draft;
  const rotating = current.mode === 'rotate';
  app.replaceChildren(
    element('h1', {}, [rotating ? `Rotate ${current.name}` : 'Add Secret']),
    element('p', { class: 'lead' }, [
      rotating
        ? `A new value for ${current.handle}. The old one is kept until the next successful deploy.`
        : state.storage
          ? 'The value goes straight to your OS keychain or the team’s Vault. Zavhoz shows only the name and a handle (sec_…) afterwards.'
          : 'The value goes straight to the OS keychain. Zavhoz shows only the name and a handle (sec_…) afterwards.',
    ]),
    element('form', { id: 'secret-form', 'aria-label': rotating ? 'Rotate secret' : 'Add secret', novalidate: true, onsubmit: (event) => void save(event) }, [
      formRow(
        'name',
        'Name',
        element('vscode-textfield', {
          value: current.name,
          placeholder: 'TELEGRAM_BOT_TOKEN',
          disabled: rotating,
          oninput: (event) => {
            const name = valueOf(event.target as Element).trim();
            update({ name });
            if (!rotating) applyGuess(name);
          },
        }),
        'An environment variable name: capitals, digits and underscores.',
      ),
      element('p', { id: 'guess', class: 'muted guess', 'aria-live': 'polite' }),
      formRow(
        'type',
        'Type',
        element(
          'vscode-single-select',
          {
            disabled: rotating,
            onchange: (event) => {
              const type = picked(state.types, event);
              if (type && type !== draft?.type) {
                chosen.type = true;
                update({ type, generate: false });
              }
              renderValueSection();
            },
          },
          state.types.map((choice) => option(choice.value, choice.label, choice.value === current.type)),
        ),
      ),
      element('section', { id: 'value-section', 'aria-label': 'Value' }),
      formRow(
        'category',
        'Category',
        element(
          'vscode-single-select',
          {
            disabled: rotating,
            onchange: (event) => {
              const category = picked(state.categories, event);
              if (category && category !== draft?.category) {
                chosen.category = true;
                update({ category });
              }
            },
          },
          state.categories.map((choice) => option(choice.value, choice.label, choice.value === current.category)),
        ),
      ),
      projectRow(state, current, rotating),
      ...(state.storage && !rotating ? [storageRow(state.storage, current)] : []),
      ...(rotating
        ? []
        : [
            element('div', { class: 'row' }, [
              formRow('expires', 'Expires on', element('vscode-textfield', { type: 'date', value: current.expiresAt, oninput: (event) => update({ expiresAt: valueOf(event.target as Element) }) }), 'Optional: the Secrets view warns two weeks before.'),
              formRow('rotation', 'Rotate every (days)', element('vscode-textfield', { type: 'number', min: 1, max: 3650, value: current.rotationDays, oninput: (event) => update({ rotationDays: valueOf(event.target as Element) }) }), 'Optional reminder.'),
            ]),
          ]),
      element('div', { class: 'actions' }, [
        element('vscode-button', { id: 'save', onclick: (event) => void save(event) }, [rotating ? 'Rotate Secret' : 'Save Secret']),
        element('vscode-button', { id: 'cancel', secondary: true, onclick: () => void bridge.request('close', {}) }, ['Cancel']),
      ]),
      element('div', { class: 'saved-row' }, [
        element('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
        element('span', { id: 'saved' }),
      ]),
    ]),
  );
  renderValueSection();
  app.removeAttribute('aria-busy');
}

/** Project: a pick from the projects Zavhoz knows, "shared" (none), or a new name typed in. */
function projectRow(state: SecretFormInit, current: SecretDraft, rotating: boolean): HTMLElement {
  const known = current.project === '' || state.projects.includes(current.project);
  const typing = !known;
  const select = element(
    'vscode-single-select',
    {
      disabled: rotating,
      onchange: (event) => {
        const value = valueOf(event.target as Element);
        const newField = field('project-new-row');
        if (value === NEW_PROJECT) {
          newField?.removeAttribute('hidden');
          update({ project: valueOf(field('project-new')).trim() });
          (field('project-new') as HTMLElement | null)?.focus();
        } else {
          newField?.setAttribute('hidden', '');
          update({ project: value });
        }
      },
    },
    [
      option('', 'Shared by every project', current.project === ''),
      ...state.projects.map((project) => option(project, project, project === current.project)),
      option(NEW_PROJECT, 'New project…', typing),
    ],
  );
  return element('div', {}, [
    formRow('project', 'Project', select, 'A shared secret can be bound by any project; a project’s own is offered to it first.'),
    element('div', { id: 'project-new-row', ...(typing ? {} : { hidden: true }) }, [
      formRow(
        'project-new',
        'New project name',
        element('vscode-textfield', { value: typing ? current.project : '', placeholder: 'shop', oninput: (event) => update({ project: valueOf(event.target as Element).trim() }) }),
        'Letters, digits, dot, dash and underscore; usually the repository’s name.',
      ),
    ]),
  ]);
}

/** Storage: the personal keychain or the team's HashiCorp Vault (offered only when one is connected). */
function storageRow(storage: NonNullable<SecretFormInit['storage']>, current: SecretDraft): HTMLElement {
  const select = element(
    'vscode-single-select',
    {
      onchange: (event) => {
        const location = picked(storage.choices, event);
        if (location) update({ location });
      },
    },
    storage.choices.map((choice) => option(choice.value, choice.label, choice.value === (current.location ?? 'personal'))),
  );
  return formRow('storage', 'Storage', select, storage.note);
}

/** The value fields for the chosen type: password/token (masked, or generated), text, or private key + passphrase. */
function renderValueSection(): void {
  const section = field('value-section');
  if (!section || !init || !draft) return;
  const type = draft.type;
  const canGenerate = init.generatable.includes(type);
  const generating = canGenerate && draft.generate;
  const children: HTMLElement[] = [];
  if (type === 'password' || type === 'token') {
    children.push(
      formRow(
        'value',
        type === 'password' ? 'Password' : 'Token',
        element('vscode-textfield', { type: 'password', autocomplete: 'off', disabled: generating, placeholder: generating ? 'generated by Zavhoz' : '' }),
        generating ? 'Zavhoz generates the value in the daemon and stores it; it never appears here.' : 'Masked; it is sent to the daemon once, on Save.',
      ),
    );
    if (canGenerate) {
      children.push(
        element('div', { class: 'row' }, [
          element(
            'vscode-checkbox',
            {
              id: 'generate',
              label: 'Generate a random value instead',
              checked: generating,
              onchange: (event) => {
                update({ generate: (event.target as HTMLInputElement).checked });
                renderValueSection();
              },
            },
          ),
          ...(generating
            ? [formRow('length', 'Length', element('vscode-textfield', { type: 'number', min: init.generatedLength.min, max: init.generatedLength.max, value: draft.length, oninput: (event) => update({ length: valueOf(event.target as Element) }) }))]
            : []),
        ]),
      );
    }
  } else {
    const isKey = type === 'private_key';
    children.push(
      formRow(
        'value',
        isKey ? 'Private key' : 'Text',
        element('vscode-textarea', { rows: isKey ? 10 : 6, monospace: true, resize: 'vertical', spellcheck: false, placeholder: isKey ? '-----BEGIN OPENSSH PRIVATE KEY-----' : '' }),
        isKey ? 'Paste the whole key, armour lines included.' : 'Any multi-line text (a certificate, a JSON credential…).',
      ),
      element('div', { class: 'row' }, [
        element('vscode-button', { id: 'paste-file', secondary: true, onclick: () => void pasteFromFile(isKey ? 'privateKey' : 'text') }, ['Paste from File…']),
      ]),
    );
    if (isKey) {
      children.push(formRow('passphrase', 'Passphrase', element('vscode-textfield', { type: 'password', autocomplete: 'off' }), 'Only if the key is encrypted.'));
    }
  }
  section.replaceChildren(...children);
}

async function pasteFromFile(purpose: 'privateKey' | 'text'): Promise<void> {
  try {
    const { text } = await bridge.request('readFile', { purpose });
    if (text !== undefined) setValue(field('value'), text);
  } catch (error) {
    showError(error);
  }
}

let saving = false;

async function save(event: Event): Promise<void> {
  event.preventDefault();
  if (!draft || saving) return;
  const current = draft;
  const generating = current.generate && (init?.generatable.includes(current.type) ?? false);
  const value = generating ? '' : valueOf(field('value'));
  const passphrase = valueOf(field('passphrase'));
  clearFieldErrors();
  if (!current.name) { showError(new RequestFailed('Give the secret a name, like DEPLOY_SSH_KEY.', 'name')); return; }
  if (!generating && value === '') { showError(new RequestFailed('Enter the value, or choose to generate one.', 'value')); return; }
  const button = field('save') as HTMLElement | null;
  button?.setAttribute('disabled', '');
  saving = true;
  setStatus('Saving…');
  try {
    const saved = await bridge.request('save', {
      draft: current,
      ...(generating ? {} : { value }),
      ...(passphrase ? { passphrase } : {}),
    });
    // The extension answers with a fresh draft on the next init; here: forget the value and show the handle.
    setValue(field('value'), '');
    setValue(field('passphrase'), '');
    if (current.mode === 'rotate') {
      showSaved(`Rotated ${saved.name} (${saved.handle}).`, saved.handle);
    } else {
      draft = { ...current, name: '', generate: false, expiresAt: '', rotationDays: '' };
      chosen.type = false;
      chosen.category = false;
      bridge.saveState({ draft });
      render();
      showSaved(`Saved ${saved.name} as ${saved.handle}.`, saved.handle);
    }
  } catch (error) {
    showError(error);
  } finally {
    saving = false;
    field('save')?.removeAttribute('disabled');
  }
}
