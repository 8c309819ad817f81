// TEST-ONLY extension (test double of an AI agent): Playwright cannot call extension APIs, so this command does
// what an agent's host does — list the language-model tools and invoke one — and writes the outcome to
// .zavhoz-lm-probe.json in the workspace for the end-to-end test to read.
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
  );
}

module.exports = { activate, deactivate() {} };
