import * as vscode from 'vscode';
import { problemsStatusText, serviceProblems } from './model/services.js';
import type { ServiceStatusTracker } from './operations/serviceStatus.js';

/**
 * The status-bar item for deployed services: hidden while every container runs well; otherwise the number of
 * containers in trouble (unhealthy, restarting, stopped, or on a server that does not answer), their names in the
 * tooltip, and a click that opens the Services view.
 */
export class ServicesStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('zavhoz.services', vscode.StatusBarAlignment.Left, 9);
  private readonly subscription: vscode.Disposable;

  constructor(tracker: ServiceStatusTracker) {
    this.item.name = 'Zavhoz Services';
    // VS Code gives every view a focus command.
    this.item.command = 'zavhoz.services.focus';
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    this.subscription = tracker.onDidChange((snapshot) => {
      const shown = snapshot.kind === 'loaded' ? problemsStatusText(serviceProblems(snapshot.projects)) : undefined;
      if (!shown) {
        this.item.hide();
        return;
      }
      this.item.text = shown.text;
      this.item.tooltip = shown.tooltip;
      this.item.accessibilityInformation = { label: `Zavhoz: ${shown.tooltip.split('\n')[0] ?? ''}`, role: 'button' };
      this.item.show();
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
