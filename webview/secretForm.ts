// @entry — the secret form webview, bundled to dist/webview/secretForm.js.
import './elements.js';
import './forms.css';
import { Bridge } from './bridge.js';
import { element, formRow, option, setValue, valueOf } from './dom.js';
import type { Choice, SecretDraft, SecretFormInit, SecretFormRequests } from './messages.js';

/**
 * The page keeps the draft (non-secret fields) in memory and in webview state; value, passphrase and file
 * contents live only in their input fields until Save sends them, and the fields are emptied right after.
 */
let init: SecretFormInit | undefined;
let draft: SecretDraft | undefined;
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
        : 'The value goes straight to the OS keychain. Zavhoz shows only the name and a handle (sec_…) afterwards.',
    ]),
    element('form', { id: 'secret-form', 'aria-label': rotating ? 'Rotate secret' : 'Add secret', novalidate: true, onsubmit: (event) => void save(event) }, [
      formRow(
        'name',
        'Name',
        element('vscode-textfield', { value: current.name, placeholder: 'TELEGRAM_BOT_TOKEN', disabled: rotating, oninput: (event) => update({ name: valueOf(event.target as Element).trim() }) }),
        'An environment variable name: capitals, digits and underscores.',
      ),
      formRow(
        'type',
        'Type',
        element(
          'vscode-single-select',
          {
            disabled: rotating,
            onchange: (event) => {
              const type = picked(state.types, event);
              if (type) update({ type, generate: false });
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
              if (category) update({ category });
            },
          },
          state.categories.map((choice) => option(choice.value, choice.label, choice.value === current.category)),
        ),
      ),
      formRow(
        'project',
        'Project',
        element('vscode-textfield', { value: current.project, placeholder: 'shared (no project)', disabled: rotating, oninput: (event) => update({ project: valueOf(event.target as Element).trim() }) }),
        state.projects.length > 0 ? `Leave empty to share it with every project. Known: ${state.projects.join(', ')}.` : 'Leave empty to share it with every project.',
      ),
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
      element('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    ]),
  );
  renderValueSection();
  app.removeAttribute('aria-busy');
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
    setStatus(error instanceof Error ? error.message : String(error), 'error');
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
  if (!current.name) return setStatus('Give the secret a name.', 'error');
  if (!generating && value === '') return setStatus('Enter the value, or choose to generate one.', 'error');
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
      setStatus(`Rotated ${saved.name} (${saved.handle}).`, 'success');
    } else {
      draft = { ...current, name: '', generate: false, expiresAt: '', rotationDays: '' };
      bridge.saveState({ draft });
      render();
      setStatus(`Saved ${saved.name} as ${saved.handle}.`, 'success');
    }
  } catch (error) {
    setStatus(error instanceof Error ? error.message : String(error), 'error');
  } finally {
    saving = false;
    field('save')?.removeAttribute('disabled');
  }
}
