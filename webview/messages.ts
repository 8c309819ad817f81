// Type-only imports: the shapes the daemon's protocol declares are used here, never restated, and nothing of the
// protocol's code reaches the browser bundle.
import type { DeployPlanNotice, PlannedModule, RetiredModule } from '../daemon/protocol/deploy.js';
import type { PlannedVariable } from '../daemon/protocol/env.js';
import type { RunStatus, RunStep } from '../daemon/protocol/runs.js';
import type { GENERATED_LENGTH, SecretCategory, SecretMetadata, SecretType } from '../daemon/protocol/secretFields.js';

/**
 * Messages between a webview and the extension, typed on both sides. Every panel starts with `ready` from the
 * webview; the extension answers with `init` carrying the panel's initial (non-secret) state. After that the
 * webview sends requests (answered by a reply with the same id) and the extension pushes events.
 */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** A request from the webview that expects a reply with the same `id`. */
export interface WebviewRequest<M extends string = string, P = unknown> {
  readonly type: 'request';
  readonly id: number;
  readonly method: M;
  readonly params: P;
}

/** The extension's reply to a {@link WebviewRequest}. */
export interface WebviewReply<R = unknown> {
  readonly type: 'reply';
  readonly id: number;
  readonly result?: R;
  /** What went wrong, in words for a person. */
  readonly error?: string;
  /** The form field the error is about (`value`, `name`…), so the page shows it next to that field. */
  readonly errorField?: string;
}

/** The extension's answer to `ready`: the panel's initial state. */
export interface InitMessage<S = unknown> {
  readonly type: 'init';
  readonly state: S;
}

/** Something the extension tells the page without being asked (a log line, a status change). */
export interface EventMessage<E extends string = string, D = unknown> {
  readonly type: 'event';
  readonly event: E;
  readonly data: D;
}

/** Anything a webview sends. */
export type FromWebview = ReadyMessage | WebviewRequest;

/** Anything the extension sends to a webview. */
export type ToWebview = InitMessage | EventMessage | WebviewReply;

/** A panel's request table: method → params and result. */
export type RequestTable = Record<string, { readonly params: unknown; readonly result: unknown }>;

/** A select option sent by the extension (the webview gets the protocol's enums as options, with their titles). */
export interface Choice<V extends string = string> {
  readonly value: V;
  readonly label: string;
}

// ---- Secret form -------------------------------------------------------------------------------------------

/**
 * The secret form's non-secret fields: all a reload may restore. No value, passphrase or file content ever goes
 * in here.
 */
export interface SecretDraft {
  readonly mode: 'create' | 'rotate';
  /** The secret being rotated (rotate mode). */
  readonly handle: string;
  readonly name: string;
  readonly type: SecretType;
  readonly category: SecretCategory;
  /** Empty: shared by every project. */
  readonly project: string;
  /** `YYYY-MM-DD` or empty. */
  readonly expiresAt: string;
  /** Whole days as text, or empty. */
  readonly rotationDays: string;
  /** Let Zavhoz generate the value (password and token only): it never exists in the page. */
  readonly generate: boolean;
  /** Length of a generated value, as text. */
  readonly length: string;
}

/** What the secret form starts with. */
export interface SecretFormInit {
  readonly draft: SecretDraft;
  readonly types: readonly Choice<SecretType>[];
  readonly categories: readonly Choice<SecretCategory>[];
  /** Known project names, for suggestions. */
  readonly projects: readonly string[];
  /** Types Zavhoz can generate. */
  readonly generatable: readonly SecretType[];
  readonly generatedLength: typeof GENERATED_LENGTH;
}

/** What the secret form's Save sends: the draft plus the value, once. */
export interface SecretSaveParams {
  readonly draft: SecretDraft;
  /** Absent when generating. */
  readonly value?: string | undefined;
  readonly passphrase?: string | undefined;
}

/** The secret form's requests. */
export interface SecretFormRequests extends RequestTable {
  /** Asks the extension to pick a file and return its text (for "paste from file"). */
  readonly readFile: { readonly params: { readonly purpose: 'privateKey' | 'text' }; readonly result: { readonly text?: string } };
  /** Stores the secret; the value is used for this one call and forgotten. */
  readonly save: { readonly params: SecretSaveParams; readonly result: { readonly handle: string; readonly name: string } };
  /** Copies a saved secret's handle to the clipboard (the page has no clipboard access of its own). */
  readonly copyHandle: { readonly params: { readonly handle: string }; readonly result: Record<string, never> };
  /** Closes the panel. */
  readonly close: { readonly params: Record<string, never>; readonly result: Record<string, never> };
}

// ---- Deploy panel ------------------------------------------------------------------------------------------

/**
 * The deploy form's fields, as typed. The modules are not among them: they come from the project's compose files,
 * and the deploy allocates them (`deploy/plan` shows them).
 */
export interface DeployForm {
  readonly project: string;
  readonly repository: string;
  readonly ref: string;
}

/** Everything a reload restores: the form, the chosen bindings (handles, never values) and the run shown. */
export interface DeployPanelState {
  readonly form: DeployForm;
  /** Variable name → vault handle. */
  readonly bindings: Readonly<Record<string, string>>;
  /** The run the panel follows, or empty. */
  readonly runId: string;
}

/** A secret offered by the binding pickers: metadata only, the project empty when shared. */
export interface SecretChoice extends Pick<SecretMetadata, 'handle' | 'name' | 'type'> {
  readonly project: string;
}

/** One row of the env plan table: a planned variable (names, kinds, handles, rules; never a value). */
export interface PlanRow extends Pick<PlannedVariable, 'name' | 'kind' | 'status' | 'handle' | 'rule' | 'sources'> {
  /** For missing user variables: the secret type a new one should have. */
  readonly suggestedType?: SecretType | undefined;
}

/** One module of the deploy as the panel shows it: a compose service publishing a port, and its allocation. */
export interface ModuleRow extends Pick<PlannedModule, 'name' | 'service' | 'portVariable'> {
  /** How the compose files publish it (`${ADMIN_PORT}:80`), or that no service does (the default `app`). */
  readonly published: string;
  /** `infra/compose.prod.yml:6`, or empty for the default `app`. */
  readonly where: string;
  /** `prod_vps_1 port 8001`, or what the deploy will do: allocate it. */
  readonly allocation: string;
  readonly allocated: boolean;
}

/** The deploy's modules as the panel shows them (`deploy/plan`). */
export interface ModulesView {
  readonly rows: readonly ModuleRow[];
  /** Allocated modules the compose files no longer publish: released after the next successful deploy. */
  readonly retired: readonly RetiredModule[];
  /** No compose file, or no published port: what to add. */
  readonly notice?: DeployPlanNotice;
  /** Why the modules could not be read (a compose file Zavhoz cannot read: its file and line). */
  readonly error?: string;
}

/** The env plan as the panel shows it, with the deploy's modules. */
export interface PlanView {
  readonly ready: boolean;
  readonly files: readonly string[];
  readonly rows: readonly PlanRow[];
  /** Why there is no plan (no folder, bad project name, daemon error). */
  readonly error?: string;
  /** The modules the deploy runs and allocates; absent when there is no folder or project yet. */
  readonly modules?: ModulesView;
}

/** A deploy step as the panel shows it. */
export interface StepView extends Pick<RunStep, 'name' | 'status' | 'detail'> {
  readonly title: string;
}

/** The run the panel follows. */
export interface RunView {
  readonly id: string;
  readonly status: RunStatus;
  readonly active: boolean;
  readonly steps: readonly StepView[];
  readonly error?: string;
  readonly urls: readonly { readonly module: string; readonly url: string }[];
  readonly target?: string;
  /** The release a succeeded run recorded (`#3 (1a2b3c4)`), which a rollback can go back from. */
  readonly release?: { readonly project: string; readonly name: string };
}

/** What the deploy panel starts with. */
export interface DeployInit {
  readonly state: DeployPanelState;
  /** The workspace folder that is deployed (its templates and compose files are read). */
  readonly folder: string;
  readonly secrets: readonly SecretChoice[];
  readonly plan?: PlanView;
  readonly run?: RunView;
  /** The run's log so far. */
  readonly lines: readonly string[];
}

/** The deploy panel's requests. */
export interface DeployRequests extends RequestTable {
  readonly plan: { readonly params: { readonly form: DeployForm; readonly bindings: Readonly<Record<string, string>> }; readonly result: PlanView };
  /** Opens the secret form for a variable; the new secret is bound when saved (a `bound` event). */
  readonly newSecret: { readonly params: { readonly variable: string; readonly type: SecretType; readonly project: string }; readonly result: Record<string, never> };
  readonly deploy: { readonly params: { readonly form: DeployForm; readonly bindings: Readonly<Record<string, string>> }; readonly result: { readonly runId: string } };
  readonly cancel: { readonly params: { readonly runId: string }; readonly result: Record<string, never> };
  readonly openUrl: { readonly params: { readonly url: string }; readonly result: Record<string, never> };
  readonly openLog: { readonly params: { readonly runId: string }; readonly result: Record<string, never> };
  /** Asks the human (modal) and rolls the project back to the release before its current one; the panel follows that run. */
  readonly rollback: { readonly params: { readonly project: string }; readonly result: { readonly runId?: string } };
}

/** Events the extension pushes to the deploy panel. */
export interface DeployEvents extends Record<string, unknown> {
  readonly run: RunView;
  /** Log lines of the followed run from line `from`. */
  readonly log: { readonly runId: string; readonly from: number; readonly lines: readonly string[] };
  readonly secrets: readonly SecretChoice[];
  readonly bound: { readonly variable: string; readonly handle: string };
}
