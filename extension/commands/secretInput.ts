import * as vscode from 'vscode';

/**
 * Asks for a secret value in a masked input box. Unlike `showInputBox`, the box is emptied before it closes:
 * the workbench reuses one hidden input element for every quick input, and would otherwise keep the last typed
 * value in the page after the box is gone.
 */
export function askSecretValue(options: { readonly title: string; readonly prompt: string }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const input = vscode.window.createInputBox();
    input.title = options.title;
    input.prompt = options.prompt;
    input.password = true;
    input.ignoreFocusOut = true;
    let settled = false;
    const finish = (value: string | undefined): void => {
      if (settled) return;
      settled = true;
      input.value = '';
      input.hide();
      input.dispose();
      resolve(value);
    };
    input.onDidChangeValue(() => (input.validationMessage = undefined));
    input.onDidAccept(() => {
      const value = input.value;
      if (value === '') {
        input.validationMessage = 'Enter the value (or press Escape).';
        return;
      }
      finish(value);
    });
    input.onDidHide(() => finish(undefined));
    input.show();
  });
}
