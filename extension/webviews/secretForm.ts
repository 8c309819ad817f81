import fs from 'node:fs/promises';
import * as vscode from 'vscode';
import * as z from 'zod';
import {
  GENERATABLE_TYPES,
  GENERATED_LENGTH,
  MAX_SECRET_BYTES,
  SECRET_CATEGORIES,
  SECRET_HANDLE_PATTERN,
  SECRET_LOCATIONS,
  SECRET_TYPES,
  type SecretMetadata,
  SecretsGenerate,
  SecretsList,
  SecretsRotate,
  SecretsSet,
} from '../../daemon/protocol/secrets.js';
import { FieldError, valueTooLargeText } from '../../daemon/client/userMessages.js';
import { AllocationsList } from '../../daemon/protocol/allocations.js';
import { type TeamVaultStatus, VaultStatus } from '../../daemon/protocol/vault.js';
import type { SecretDraft, SecretFormInit, SecretFormRequests } from '../../webview/messages.js';
import { CATEGORY_TITLES, TYPE_TITLES } from '../model/secrets.js';
import { defaultLocation, secretStorageChoice } from '../model/secretStorage.js';
import type { ExtensionServices } from '../services.js';
import { WebviewHost } from './host.js';

/** The view type of the secret form (its serializer restores it after a reload). */
export const SECRET_FORM_VIEW_TYPE = 'zavhoz.secretForm';

/** A draft is restored from webview state: only these non-secret fields survive, whatever else the state held. */
const draftSchema = z.object({
  mode: z.enum(['create', 'rotate']).catch('create'),
  handle: z.string().max(64).catch(''),
  name: z.string().max(128).catch(''),
  type: z.enum(SECRET_TYPES).catch('password'),
  category: z.enum(SECRET_CATEGORIES).catch('other'),
  project: z.string().max(64).catch(''),
  expiresAt: z.string().regex(/^(\d{4}-\d{2}-\d{2})?$/).catch(''),
  rotationDays: z.string().regex(/^\d{0,4}$/).catch(''),
  generate: z.boolean().catch(false),
  length: z.string().regex(/^\d{0,3}$/).catch(String(GENERATED_LENGTH.default)),
  location: z.enum(SECRET_LOCATIONS).optional().catch(undefined),
});

/** How long the form waits to learn whether a team Vault is connected before it opens without the choice. */
const VAULT_STATUS_WAIT_MS = 5_000;

const saveSchema = z.strictObject({
  draft: draftSchema,
  value: SecretsSet.params.shape.value.optional(),
  passphrase: SecretsSet.params.shape.passphrase,
});

/** A fresh draft for "Add Secret" with workspace defaults. */
export function newSecretDraft(defaults: Partial<SecretDraft> = {}): SecretDraft {
  return draftSchema.parse({ mode: 'create', length: String(GENERATED_LENGTH.default), ...defaults });
}

/** A draft for rotating an existing secret to a value typed in the form. */
export function rotationDraft(secret: SecretMetadata): SecretDraft {
  return newSecretDraft({
    mode: 'rotate',
    handle: secret.handle,
    name: secret.name,
    type: secret.type,
    category: secret.category,
    project: secret.project ?? '',
  });
}

/** The draft saved in a restored panel's state, reduced to its non-secret fields. */
export function draftFromState(state: unknown): SecretDraft {
  const saved = typeof state === 'object' && state !== null && 'draft' in state ? state.draft : undefined;
  return draftSchema.parse(typeof saved === 'object' && saved !== null ? saved : {});
}

/**
 * The secret form: name, type-specific value fields, category, project, expiry and rotation. The value is sent
 * to the daemon in one request and forgotten; the page keeps only the draft in its state.
 */
export class SecretFormPanel implements vscode.Disposable {
  private static current: SecretFormPanel | undefined;
  private readonly host: WebviewHost<SecretFormInit, SecretFormRequests, Record<string, never>>;
  private draft: SecretDraft;
  private onSaved: ((saved: { readonly handle: string; readonly name: string }) => void) | undefined;
  /** True once the form offered the storage choice (a team Vault is connected): only then is `location` sent. */
  private storageOffered = false;

  /** Opens the form (replacing an open one) with a draft; `onSaved` hears the new handle (the deploy panel binds it). */
  static show(
    context: vscode.ExtensionContext,
    services: ExtensionServices,
    draft: SecretDraft,
    onSaved?: (saved: { readonly handle: string; readonly name: string }) => void,
  ): void {
    SecretFormPanel.current?.panel.dispose();
    const panel = vscode.window.createWebviewPanel(SECRET_FORM_VIEW_TYPE, panelTitle(draft), vscode.ViewColumn.Active, { retainContextWhenHidden: false });
    SecretFormPanel.current = new SecretFormPanel(panel, context, services, draft);
    SecretFormPanel.current.onSaved = onSaved;
  }

  /** Re-attaches a panel VS Code restored after a reload. */
  static restore(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, services: ExtensionServices, state: unknown): void {
    SecretFormPanel.current?.panel.dispose();
    SecretFormPanel.current = new SecretFormPanel(panel, context, services, draftFromState(state));
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    context: vscode.ExtensionContext,
    private readonly services: ExtensionServices,
    draft: SecretDraft,
  ) {
    this.draft = draft;
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'zavhoz.svg');
    this.host = new WebviewHost<SecretFormInit, SecretFormRequests, Record<string, never>>(panel, context.extensionUri, 'secretForm', {
      log: services.log,
      init: () => this.initialState(),
      handlers: {
        readFile: { params: z.strictObject({ purpose: z.enum(['privateKey', 'text']) }), handle: (params) => this.readFile(params.purpose) },
        save: { params: saveSchema, handle: (params) => this.save(params.draft, params.value, params.passphrase) },
        copyHandle: {
          params: z.strictObject({ handle: z.string().regex(SECRET_HANDLE_PATTERN) }),
          handle: async (params) => {
            await vscode.env.clipboard.writeText(params.handle);
            return {};
          },
        },
        close: { params: z.strictObject({}), handle: () => (panel.dispose(), {}) },
      },
    });
    panel.onDidDispose(() => {
      this.host.dispose();
      if (SecretFormPanel.current === this) SecretFormPanel.current = undefined;
    });
  }

  dispose(): void {
    this.panel.dispose();
  }

  private async initialState(): Promise<SecretFormInit> {
    // Known projects: those with secrets or allocations (a deployed project has both).
    const known = new Set<string>();
    try {
      const secrets = await this.services.connection.listAll(SecretsList, {}, (page) => page.secrets);
      for (const secret of secrets) if (secret.project !== null) known.add(secret.project);
      const allocations = await this.services.connection.listAll(AllocationsList, {}, (page) => page.allocations);
      for (const allocation of allocations) known.add(allocation.project);
    } catch {
      // The form still works with a typed project name.
    }
    const projects = [...known].sort();
    if (this.draft.project && !projects.includes(this.draft.project)) projects.unshift(this.draft.project);
    const vault = await this.teamVaultStatus();
    const storage = this.draft.mode === 'create' ? secretStorageChoice(vault) : undefined;
    this.storageOffered = storage !== undefined;
    if (storage && this.draft.location === undefined) this.draft = { ...this.draft, location: defaultLocation(vault) };
    return {
      draft: this.draft,
      types: SECRET_TYPES.map((value) => ({ value, label: TYPE_TITLES[value] })),
      categories: SECRET_CATEGORIES.map((value) => ({ value, label: CATEGORY_TITLES[value] })),
      projects,
      generatable: [...GENERATABLE_TYPES],
      generatedLength: GENERATED_LENGTH,
      ...(storage ? { storage } : {}),
    };
  }

  /** Whether this member connected a team Vault; undefined from a daemon without team secrets, or one slow to say. */
  private async teamVaultStatus(): Promise<TeamVaultStatus | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.services.connection.request(VaultStatus, {}),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), VAULT_STATUS_WAIT_MS);
        }),
      ]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** "Paste from file": the user picks a file; its text goes to the form field it was asked for. */
  private async readFile(purpose: 'privateKey' | 'text'): Promise<{ text?: string }> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: purpose === 'privateKey' ? 'Use This Key' : 'Use This File',
      title: purpose === 'privateKey' ? 'Private key file' : 'File with the secret text',
      ...(purpose === 'privateKey' ? { defaultUri: vscode.Uri.file(`${process.env.HOME ?? '/'}/.ssh`) } : {}),
    });
    const file = picked?.[0];
    if (!file) return {};
    const stat = await fs.stat(file.fsPath);
    if (stat.size > MAX_SECRET_BYTES) throw new Error(`${file.fsPath} is larger than ${MAX_SECRET_BYTES / 1024} KB, the most a secret can hold.`);
    return { text: await fs.readFile(file.fsPath, 'utf8') };
  }

  /** Sends the secret to the daemon once. The value is a parameter of this call only. */
  private async save(draft: SecretDraft, value: string | undefined, passphrase: string | undefined): Promise<{ handle: string; name: string }> {
    // Measured here, before the value travels: the same words as the vault's refusal, next to the field.
    if (value !== undefined && Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES) throw new FieldError(valueTooLargeText(), 'value');
    if (passphrase !== undefined && Buffer.byteLength(passphrase, 'utf8') > MAX_SECRET_BYTES) throw new FieldError(`Passphrase is too large: at most ${MAX_SECRET_BYTES / 1024} KiB.`, 'passphrase');
    const describing = {
      category: draft.category,
      ...(draft.project ? { project: draft.project } : {}),
      ...(draft.expiresAt ? { expiresAt: `${draft.expiresAt}T00:00:00Z` } : {}),
      ...(draft.rotationDays ? { rotationDays: Number(draft.rotationDays) } : {}),
      // Only a choice the form offered: a draft restored after the team Vault was disconnected keeps the default.
      ...(this.storageOffered && draft.location ? { location: draft.location } : {}),
    };
    let saved: SecretMetadata;
    if (draft.mode === 'rotate') {
      if (!value && !draft.generate) throw new FieldError('Enter the new value, or choose Generate.', 'value');
      saved = await this.services.connection.request(SecretsRotate, {
        handle: draft.handle,
        ...(value ? { value } : { length: Number(draft.length) || GENERATED_LENGTH.default }),
        ...(passphrase ? { passphrase } : {}),
      });
    } else if (draft.generate) {
      const type = draft.type;
      if (type !== 'password' && type !== 'token') throw new Error(`Zavhoz can generate passwords and tokens, not ${TYPE_TITLES[draft.type]}.`);
      saved = await this.services.connection.request(SecretsGenerate, {
        name: draft.name,
        type,
        length: Number(draft.length) || GENERATED_LENGTH.default,
        ...describing,
      });
    } else {
      if (!value) throw new FieldError('Enter the value.', 'value');
      saved = await this.services.connection.request(SecretsSet, {
        name: draft.name,
        type: draft.type,
        value,
        ...(passphrase ? { passphrase } : {}),
        ...describing,
      });
    }
    this.services.log.info(`secret ${saved.name} saved as ${saved.handle}${saved.location === 'team' ? ' in the team Vault' : ''}`);
    this.onSaved?.({ handle: saved.handle, name: saved.name });
    this.onSaved = undefined;
    this.draft = newSecretDraft({ category: draft.category, project: draft.project, type: draft.type, ...(draft.location ? { location: draft.location } : {}) });
    this.panel.title = panelTitle(this.draft);
    return { handle: saved.handle, name: saved.name };
  }
}

function panelTitle(draft: SecretDraft): string {
  return draft.mode === 'rotate' ? `Rotate ${draft.name}` : 'Add Secret';
}

/** Registers the serializer that restores the form's non-secret draft after a window reload. */
export function registerSecretFormSerializer(context: vscode.ExtensionContext, services: ExtensionServices): void {
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(SECRET_FORM_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state: unknown) => {
        SecretFormPanel.restore(panel, context, services, state);
        return Promise.resolve();
      },
    }),
  );
}
