import * as vscode from 'vscode';
import { GithubDidChange } from '../daemon/protocol/github.js';
import { RunsDidChange, RunsList } from '../daemon/protocol/runs.js';
import { SecretsDidChange, SecretsList } from '../daemon/protocol/secrets.js';
import { ServersDidChange, ServersList } from '../daemon/protocol/servers.js';
import { SettingsDidChange, SettingsGet } from '../daemon/protocol/settings.js';
import type { DaemonConnection } from './daemonConnection.js';

/**
 * The `when`-clause keys the extension sets, so that menus hide actions that cannot work (Sync with no provider,
 * Deploy with no compose file) and the Getting Started walkthrough checks its steps off as they happen
 * (`onContext:` completion events). Names are listed once here; package.json uses the same strings.
 */
export const ContextKeys = {
  /** The daemon's connection state: `connecting`, `connected` or `down`. */
  daemonState: 'zavhoz.daemonState',
  /** A VPS provider's credentials are configured, so Sync Servers can work. */
  providerConfigured: 'zavhoz.providerConfigured',
  /** The workspace has a compose file a deploy can use. */
  hasComposeFile: 'zavhoz.hasComposeFile',
  /** Walkthrough: at least one managed server. */
  hasServer: 'zavhoz.hasServer',
  /** Walkthrough: at least one secret. */
  hasSecret: 'zavhoz.hasSecret',
  /** Walkthrough: a deploy succeeded. */
  hasDeployed: 'zavhoz.hasDeployed',
  /** Walkthrough: CI secrets were pushed to GitHub (from this window, or remembered from an earlier push). */
  hasPushedCiSecrets: 'zavhoz.hasPushedCiSecrets',
  /** Remote - SSH (or Open Remote - SSH) is installed, so Open in Remote-SSH can work. */
  remoteSshInstalled: 'zavhoz.remoteSshInstalled',
} as const;

/** The compose files a deploy reads, and the usual names people start with (shown with how to add the others). */
// VS Code's globs take one level of braces only.
const COMPOSE_GLOB = '{infra/compose*.yml,infra/compose*.yaml,compose*.yml,compose*.yaml,docker-compose*.yml,docker-compose*.yaml}';
const PUSHED_KEY = 'zavhoz.walkthrough.ciSecretsPushed';

function setContext(key: string, value: unknown): void {
  void vscode.commands.executeCommand('setContext', key, value);
}

/**
 * Keeps the context keys true: each is read when the daemon connects and again on the change notification of
 * what it depends on (never by polling); the compose key follows the workspace's files.
 */
export class ContextKeyTracker implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly connection: DaemonConnection,
    private readonly memento: vscode.Memento,
  ) {
    setContext(ContextKeys.daemonState, connection.state.kind);
    setContext(ContextKeys.hasPushedCiSecrets, memento.get<boolean>(PUSHED_KEY, false));
    const watcher = vscode.workspace.createFileSystemWatcher(`**/${COMPOSE_GLOB}`);
    this.disposables.push(
      watcher,
      watcher.onDidCreate(() => void this.readCompose()),
      watcher.onDidDelete(() => void this.readCompose()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.readCompose()),
      connection.onDidChangeState((state) => {
        setContext(ContextKeys.daemonState, state.kind);
        if (state.kind === 'connected') void this.readAll();
      }),
      connection.onNotification(SettingsDidChange, () => void this.readProvider()),
      connection.onNotification(ServersDidChange, () => void this.readServers()),
      connection.onNotification(SecretsDidChange, () => void this.readSecrets()),
      connection.onNotification(RunsDidChange, ({ status }) => {
        if (status === 'succeeded') setContext(ContextKeys.hasDeployed, true);
      }),
      connection.onNotification(GithubDidChange, () => this.ciSecretsPushed()),
    );
    void this.readCompose();
    if (connection.state.kind === 'connected') void this.readAll();
  }

  /** Marks the walkthrough's CI step done (also remembered for the next window). */
  ciSecretsPushed(): void {
    void this.memento.update(PUSHED_KEY, true);
    setContext(ContextKeys.hasPushedCiSecrets, true);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }

  private async readAll(): Promise<void> {
    await Promise.all([this.readProvider(), this.readServers(), this.readSecrets(), this.readRuns()]);
  }

  private async readCompose(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) { setContext(ContextKeys.hasComposeFile, false); return; }
    try {
      const found = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, COMPOSE_GLOB), '**/node_modules/**', 1);
      setContext(ContextKeys.hasComposeFile, found.length > 0);
    } catch {
      setContext(ContextKeys.hasComposeFile, false);
    }
  }

  private async readProvider(): Promise<void> {
    await this.quietly(async () => {
      const settings = await this.connection.request(SettingsGet, {});
      setContext(ContextKeys.providerConfigured, settings.time4vpsLoginSecret !== '' && settings.time4vpsPasswordSecret !== '');
    });
  }

  private async readServers(): Promise<void> {
    await this.quietly(async () => {
      const { servers } = await this.connection.request(ServersList, { limit: 1 });
      setContext(ContextKeys.hasServer, servers.length > 0);
    });
  }

  private async readSecrets(): Promise<void> {
    await this.quietly(async () => {
      const { secrets } = await this.connection.request(SecretsList, { limit: 1 });
      setContext(ContextKeys.hasSecret, secrets.length > 0);
    });
  }

  private async readRuns(): Promise<void> {
    await this.quietly(async () => {
      const { runs } = await this.connection.request(RunsList, { limit: 20 });
      if (runs.some((run) => run.status === 'succeeded')) setContext(ContextKeys.hasDeployed, true);
    });
  }

  /** A key the daemon cannot answer for keeps its last value (an older daemon, a moment of reconnecting). */
  private async quietly(read: () => Promise<void>): Promise<void> {
    try {
      await read();
    } catch {
      // Read again on the next notification or connection.
    }
  }
}
