// TEST-ONLY extension (test double of an AI agent): Playwright cannot call extension APIs, so this command does
// what an agent's host does — list the language-model tools and invoke one — and writes the outcome to
// .zavhoz-lm-probe.json in the workspace for the end-to-end test to read. A second command lists the zavhoz.*
// commands registered at run time (.zavhoz-commands.json), for the manifest check.
const vscode = require('vscode');
const path = require('node:path');
const fs = require('node:fs');

function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('zavhozProbe.invokeTools', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      const outcome = { tools: [], invoked: 'zavhoz_list_managed_servers', text: '', error: null };
      try {
        outcome.tools = vscode.lm.tools.map((tool) => tool.name).filter((name) => name.startsWith('zavhoz_')).sort();
        const source = new vscode.CancellationTokenSource();
        const result = await vscode.lm.invokeTool(outcome.invoked, { input: {}, toolInvocationToken: undefined }, source.token);
        outcome.text = result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join('');
      } catch (error) {
        outcome.error = error instanceof Error ? error.message : String(error);
      }
      if (folder) fs.writeFileSync(path.join(folder, '.zavhoz-lm-probe.json'), JSON.stringify(outcome, null, 2));
      void vscode.window.showInformationMessage('Zavhoz test probe finished');
    }),
    // What an agent gets from zavhoz_request_secret once the human saved (or closed) the form it opens.
    vscode.commands.registerCommand('zavhozProbe.requestSecret', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      // ignoreFocusOut, as the extension's own inputs have: the secret form of a previous request may still be open,
      // and a webview that takes focus back would otherwise close this box before the test can type (seen in CI).
      const name = await vscode.window.showInputBox({ title: 'Probe: secret name', ignoreFocusOut: true });
      const outcome = { text: '', error: null };
      try {
        const project = folder ? path.basename(folder) : undefined;
        const source = new vscode.CancellationTokenSource();
        const result = await vscode.lm.invokeTool('zavhoz_request_secret', { input: { name, type: 'token', project }, toolInvocationToken: undefined }, source.token);
        outcome.text = result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join('');
      } catch (error) {
        outcome.error = error instanceof Error ? error.message : String(error);
      }
      if (folder) fs.writeFileSync(path.join(folder, '.zavhoz-request-secret.json'), JSON.stringify(outcome, null, 2));
    }),
    // What is really registered at run time (a registration that throws or is never called shows here).
    vscode.commands.registerCommand('zavhozProbe.listCommands', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      const commands = (await vscode.commands.getCommands(true)).filter((id) => id.startsWith('zavhoz.')).sort();
      if (folder) fs.writeFileSync(path.join(folder, '.zavhoz-commands.json'), JSON.stringify({ commands }, null, 2));
      void vscode.window.showInformationMessage('Zavhoz test probe listed commands');
    }),
  );
}

module.exports = { activate, deactivate() {} };
